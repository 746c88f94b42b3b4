//! The event types a service publishes on its feed, as its spec shows them.
//!
//! Each event type becomes its own schema (`UserDeleted`: the envelope with `type` fixed to
//! `user.deleted` and typed `data`), and `Event` becomes the `oneOf` of them, discriminated by
//! `type`. The feed page (`EventPage.items`) and every stream refer to `Event`, so a client
//! generated from the spec carries typed payloads, and the breaking-change gate sees every change
//! to an event.

use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::schema::{Discriminator, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::{KnownFormat, OpenApi, Ref, RefOr};

/// One event type: its `type` value, the name of its schema and what it means.
#[derive(Clone)]
pub struct EventType {
    /// The value of `type`, such as `user.deleted`.
    pub name: &'static str,
    /// The schema's name in the spec, such as `UserDeleted`.
    pub schema: &'static str,
    /// When the event is published, for the spec.
    pub description: &'static str,
    /// The name of the `data` schema.
    data: String,
    /// The `data` schema and every schema it refers to.
    schemas: Vec<(String, RefOr<Schema>)>,
}

/// The event types of one service's feed. The kit adds them to the spec (see
/// [`crate::server::spec`]); the service lists them once, in [`crate::Service::events`].
#[derive(Clone, Default)]
pub struct EventCatalog {
    types: Vec<EventType>,
}

impl EventCatalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the event type `name` (`user.deleted`), published as schema `schema`
    /// (`UserDeleted`), whose `data` has the shape of `D`.
    ///
    /// Panics when `schema` is also the name of `D` or of a schema `D` refers to, or repeats an
    /// earlier event's: one name would stand for two schemas in the spec.
    pub fn event<D: ToSchema>(mut self, name: &'static str, schema: &'static str, description: &'static str) -> Self {
        let mut schemas = Vec::new();
        D::schemas(&mut schemas);
        schemas.push((D::name().into_owned(), D::schema()));
        let taken = |n: &str| n == "Event" || schemas.iter().any(|(other, _)| other == n);
        assert!(!taken(schema), "event schema `{schema}` would replace a data schema of the same name");
        assert!(!self.types.iter().any(|t| t.schema == schema || t.name == name), "`{name}` is listed twice");
        self.types.push(EventType { name, schema, description, data: D::name().into_owned(), schemas });
        self
    }

    /// Whether `name` is one of this catalog's event types.
    pub fn contains(&self, name: &str) -> bool {
        self.types.iter().any(|t| t.name == name)
    }

    /// Writes the event schemas into `spec` and makes `Event` their `oneOf`.
    /// A service that publishes no feed gets no `Event` schema.
    pub fn apply_to_spec(&self, spec: &mut OpenApi) {
        if self.types.is_empty() {
            return;
        }
        let components = spec.components.get_or_insert_with(Default::default);
        let mut one_of = OneOfBuilder::new().description(Some(
            "One event of the feed. `type` says which; a consumer skips types it does not know, since \
             new types are a compatible change.",
        ));
        let mut mapping = BTreeMap::new();
        for event in &self.types {
            for (name, schema) in &event.schemas {
                components.schemas.insert(name.clone(), schema.clone());
            }
            components.schemas.insert(event.schema.to_owned(), envelope(event).into());
            one_of = one_of.item(Ref::from_schema_name(event.schema));
            mapping.insert(event.name.to_owned(), format!("#/components/schemas/{}", event.schema));
        }
        let mut discriminator = Discriminator::new("type");
        discriminator.mapping = mapping.into_iter().collect();
        let one_of = one_of.discriminator(Some(discriminator)).build();
        components.schemas.insert("Event".to_owned(), Schema::OneOf(one_of).into());
        components.schemas.insert("EventFrame".to_owned(), self.frame().into());
    }

    /// One server-sent event of the service's streams, in the OpenAPI 3.2 form: `data` is an
    /// `Event` as JSON (`contentMediaType` and `contentSchema`, JSON Schema 2020-12).
    fn frame(&self) -> Schema {
        let string = || ObjectBuilder::new().schema_type(Type::String);
        let mut data = string().description(Some("The event, as JSON.")).build();
        data.content_media_type = "application/json".to_owned();
        data.content_schema = Some(Box::new(Ref::from_schema_name("Event").into()));
        ObjectBuilder::new()
            .description(Some(
                "One server-sent event: `id` is the event's feed id, `event` its type and `data` the event \
                 as JSON. Lines starting with `:` are keep-alives.",
            ))
            .property(
                "id",
                string().pattern(Some(r"^[0-9]{1,18}$")).description(Some("Resume after it with `Last-Event-ID`.")),
            )
            // Not an enum: a new event type is a compatible change, and a closed list here would
            // make it a breaking one for every client.
            .property("event", string().description(Some("The event's `type` (one of `Event`'s).")))
            .property("data", data)
            .required("id")
            .required("event")
            .required("data")
            .build()
            .into()
    }
}

/// The schema of one event type: the feed's envelope with `type` fixed and `data` typed.
fn envelope(event: &EventType) -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .description(Some(format!("`{}`: {}", event.name, event.description)))
        .property(
            "id",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .description(Some(
                    "Grows with each event, in the order readers see them. Pass it as `after` to continue.",
                )),
        )
        .property("type", string().enum_values(Some([event.name])).description(Some("What happened.")))
        .property("app_id", string().description(Some("The app the event belongs to.")))
        .property("subject", string().description(Some("The id of the resource the event is about.")))
        .property("data", Ref::from_schema_name(event.data.clone()))
        .property(
            "occurred_at",
            string()
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .description(Some("When the change committed (RFC 3339, UTC).")),
        )
        .required("id")
        .required("type")
        .required("app_id")
        .required("subject")
        .required("data")
        .required("occurred_at")
        .build()
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(ToSchema)]
    #[allow(dead_code)]
    struct Deleted {
        user_id: String,
    }

    #[test]
    fn each_type_is_its_own_schema_and_event_is_their_one_of() {
        let catalog = EventCatalog::new()
            .event::<Deleted>("user.deleted", "UserDeleted", "a user was erased")
            .event::<Deleted>("user.banned", "UserBanned", "a user was banned");
        let mut spec = OpenApi::default();
        catalog.apply_to_spec(&mut spec);
        let json = serde_json::to_value(&spec).unwrap();
        let schemas = &json["components"]["schemas"];
        assert_eq!(schemas["UserDeleted"]["properties"]["type"]["enum"][0], "user.deleted");
        assert_eq!(schemas["UserDeleted"]["properties"]["data"]["$ref"], "#/components/schemas/Deleted");
        assert_eq!(schemas["Event"]["oneOf"].as_array().unwrap().len(), 2);
        assert_eq!(schemas["Event"]["discriminator"]["mapping"]["user.banned"], "#/components/schemas/UserBanned");
        assert!(catalog.contains("user.banned") && !catalog.contains("user.created"));
    }

    #[test]
    #[should_panic(expected = "would replace a data schema")]
    fn an_event_schema_may_not_take_its_data_schemas_name() {
        let _ = EventCatalog::new().event::<Deleted>("user.deleted", "Deleted", "a user was erased");
    }
}
