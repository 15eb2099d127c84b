//! The Lease verbs: get, list, create, update (PUT), patch and delete, with the real server's
//! order of checks (decode, API version, namespace, name, preconditions, resourceVersion,
//! validation, storage) and its status codes.

use std::sync::Arc;

use base64::Engine as _;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::apply::{self, PatchOptions};
use super::exchange::{Reply, Req};
use super::gojson;
use super::lease::{API_VERSION, DecodeError, Decoded, Lease};
use super::managed_fields;
use super::microtime;
use super::patch;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{FieldError, KIND, RESOURCE, Status};
use super::store::Store;
use super::table::{self, Output};
use super::validate;
use super::{Shared, Verb, lock};

/// `Warning` headers to send.
type Warnings = Vec<(&'static str, String)>;

/// How a write's `managedFields` are kept.
enum Track<'a> {
    /// An Update by this manager: record what it changes.
    Update(&'a str),
    /// Already recorded (a server-side apply).
    Recorded,
}

/// One lease request in flight.
struct Ctx<'a> {
    shared: &'a Arc<Shared>,
    req: &'a Req,
    output: Output,
    now: OffsetDateTime,
}

/// Runs `verb` (already authorized) on `namespace`/`name` (either may be empty).
pub(crate) fn lease(
    shared: &Arc<Shared>,
    req: &Req,
    verb: &str,
    namespace: &str,
    name: &str,
) -> Reply {
    let output = table::negotiate(req.accept.as_deref());
    if output == Output::NotAcceptable {
        return Status::not_acceptable().into();
    }
    let ctx = Ctx {
        shared,
        req,
        output,
        now: OffsetDateTime::now_utc(),
    };
    let result = match verb {
        "get" => ctx.get(namespace, name),
        "list" => ctx.list(namespace),
        "create" => ctx.create(namespace),
        "update" => ctx.update(namespace, name),
        "patch" => ctx.patch(namespace, name),
        "delete" => ctx.delete(namespace, name),
        "watch" => super::watch::start(shared, req, output, namespace, name),
        _ => Err(Status::method_not_allowed()),
    };
    result.unwrap_or_else(Reply::from)
}

/// Whether `content_type` names JSON (absent counts as JSON, as on the real server).
fn is_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let media = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media.is_empty() || media == "application/json"
}

/// `strconv.ParseUint(rv, 10, 64)` with Go's error text; "" is 0.
pub(crate) fn parse_rv(rv: &str) -> Result<u64, String> {
    if rv.is_empty() {
        return Ok(0);
    }
    if !rv.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "strconv.ParseUint: parsing {}: invalid syntax",
            gojson::quote(rv)
        ));
    }
    rv.parse::<u64>().map_err(|_| {
        format!(
            "strconv.ParseUint: parsing {}: value out of range",
            gojson::quote(rv)
        )
    })
}

/// A random `generateName` suffix (5 characters from the apiserver's alphabet).
fn name_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    uuid::Uuid::new_v4().as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

impl Ctx<'_> {
    /// `dryRun=All`: run every check, write nothing.
    fn dry_run(&self) -> bool {
        self.req.query.get("dryRun") == Some("All")
    }

    /// Writes `lease` (unless dry-running: then it is returned as the write would have
    /// produced it, without a new resourceVersion).
    fn commit(&self, store: &mut Store, mut lease: Lease, verb: Verb) -> Lease {
        lease.meta.show_managed_fields = self.shared.options.managed_fields;
        if self.dry_run() {
            let mut lease = lease;
            if verb == Verb::Create {
                lease.meta.resource_version.clear();
            }
            return lease;
        }
        store.put(lease, verb, &self.req.user, self.now)
    }

    /// The manager an Update is recorded under: `fieldManager`, else the User-Agent up to its
    /// first `/`, else `unknown` (`managerOrUserAgent`, `buildManagerInfo`).
    fn update_manager(&self) -> String {
        let manager = match self.req.query.get("fieldManager").filter(|m| !m.is_empty()) {
            Some(m) => m.to_owned(),
            None => self
                .req
                .user_agent
                .as_deref()
                .unwrap_or_default()
                .split('/')
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        if manager.is_empty() {
            "unknown".to_owned()
        } else {
            manager
        }
    }

    fn gate(&self) -> bool {
        self.shared.options.coordinated_leader_election
    }

    /// A lease (or Table of it) with `code`.
    fn object(&self, code: u16, lease: &Lease) -> Reply {
        if let Output::Table(version) = self.output
            && self.req.method == http::Method::GET
        {
            let meta = json!({"resourceVersion": lease.meta.resource_version});
            let include = self.req.query.get("includeObject");
            let t = table::lease_table(
                version,
                std::slice::from_ref(lease),
                meta,
                include,
                self.now,
            );
            return Reply::json(code, gojson::to_body(&t));
        }
        Reply::json(code, gojson::to_body(&lease.to_value(true)))
    }

    /// Reads a POST/PUT body: content type, decoding, field validation, API version.
    fn read_body(&self) -> Result<(Decoded, Warnings), Status> {
        if !is_json(self.req.content_type.as_deref()) {
            return Err(Status::unsupported_media_type());
        }
        let decoded = Lease::decode(&self.req.body).map_err(|e: DecodeError| e.status)?;
        let warnings = self.field_validation(&decoded)?;
        if decoded.group_version != API_VERSION {
            return Err(Status::bad_request(format!(
                "the API version in the data ({}) does not match the expected API version ({API_VERSION})",
                decoded.group_version
            )));
        }
        Ok((decoded, warnings))
    }

    /// `fieldValidation`: Strict fails on unknown fields, Warn (default) sends warnings.
    fn field_validation(&self, d: &Decoded) -> Result<Warnings, Status> {
        let unknown: Vec<String> = d
            .unknown
            .iter()
            .map(|f| format!("unknown field {}", gojson::quote(f)))
            .collect();
        match self.req.query.get("fieldValidation") {
            _ if unknown.is_empty() => Ok(Vec::new()),
            Some("Strict") => Err(Status::bad_request(format!(
                "{KIND} in version \"v1\" cannot be handled as a {KIND}: strict decoding error: {}",
                unknown.join(", ")
            ))),
            Some("Ignore") => Ok(Vec::new()),
            _ => Ok(unknown
                .iter()
                .map(|w| ("Warning", format!("299 - {}", gojson::quote(w))))
                .collect()),
        }
    }

    /// `EnsureObjectNamespaceMatchesRequestNamespace`: fill an empty namespace, reject another.
    fn fill_namespace(lease: &mut Lease, namespace: &str) -> Result<(), Status> {
        if lease.meta.namespace.is_empty() {
            lease.meta.namespace = namespace.to_owned();
        } else if lease.meta.namespace != namespace {
            return Err(Status::bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            ));
        }
        Ok(())
    }

    /// [`Self::fill_namespace`], then `checkName`: an update's body must name the URL's object
    /// (the namespace is checked first, as the real server does).
    fn fill_namespace_check_name(
        lease: &mut Lease,
        namespace: &str,
        name: &str,
    ) -> Result<(), Status> {
        Self::fill_namespace(lease, namespace)?;
        if lease.meta.name != name {
            return Err(Status::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                lease.meta.name
            )));
        }
        Ok(())
    }

    /// `rest.BeforeCreate` with the system fields filled in: uid, creationTimestamp, gate
    /// dropping, generateName, validation.
    fn before_create(&self, lease: &mut Lease) -> Result<(), Status> {
        lease.meta.uid = uuid::Uuid::new_v4().to_string();
        lease.meta.creation_timestamp = microtime::format_seconds(self.now);
        validate::drop_disabled_fields(self.gate(), &mut lease.spec, None);
        if lease.meta.name.is_empty() && !lease.meta.generate_name.is_empty() {
            lease.meta.name = format!("{}{}", lease.meta.generate_name, name_suffix());
        }
        let errs = validate::validate_lease(lease);
        if !errs.is_empty() {
            return Err(Status::invalid(KIND, &lease.meta.name, &errs));
        }
        Ok(())
    }

    /// `rest.BeforeUpdate`: keep uid (if unset) and creationTimestamp, gate dropping, validation.
    fn before_update(&self, lease: &mut Lease, old: &Lease) -> Result<(), Status> {
        let mut errs = Vec::new();
        if lease.meta.uid.is_empty() {
            lease.meta.uid = old.meta.uid.clone();
        } else if lease.meta.uid != old.meta.uid {
            errs.push(FieldError::invalid_str(
                "metadata.uid",
                &lease.meta.uid,
                "field is immutable",
            ));
        }
        lease.meta.creation_timestamp = old.meta.creation_timestamp.clone();
        validate::drop_disabled_fields(self.gate(), &mut lease.spec, Some(&old.spec));
        errs.extend(validate::validate_lease(lease));
        if !errs.is_empty() {
            return Err(Status::invalid(KIND, &lease.meta.name, &errs));
        }
        Ok(())
    }

    fn get(&self, namespace: &str, name: &str) -> Result<Reply, Status> {
        let store = lock(&self.shared.store);
        let lease = store
            .get(namespace, name)
            .ok_or_else(|| Status::not_found(name))?;
        Ok(self.object(200, lease))
    }

    fn list(&self, namespace: &str) -> Result<Reply, Status> {
        let q = &self.req.query;
        let labels = LabelSelector::parse(q.get("labelSelector").unwrap_or_default())?;
        let fields = FieldSelector::parse(q.get("fieldSelector").unwrap_or_default())?;
        let limit = match q.get("limit") {
            Some(l) => l.parse::<i64>().unwrap_or(0).max(0) as usize,
            None => 0,
        };
        let key_of = |l: &Lease| {
            if namespace.is_empty() {
                format!("{}/{}", l.meta.namespace, l.meta.name)
            } else {
                l.meta.name.clone()
            }
        };
        let start = match q.get("continue").filter(|c| !c.is_empty()) {
            Some(token) => Some(decode_continue(token)?),
            None => None,
        };
        let store = lock(&self.shared.store);
        self.check_list_not_compacted(&store, start.as_ref().map(|(_, rv)| *rv))?;
        let revision = store.revision();
        let ns = (!namespace.is_empty()).then_some(namespace);
        let mut items: Vec<Lease> = store
            .list(ns)
            .into_iter()
            .filter(|l| {
                start
                    .as_ref()
                    .is_none_or(|(s, _)| key_of(l).as_str() >= s.as_str())
            })
            .filter(|l| labels.matches(&l.meta.labels) && fields.matches(l))
            .cloned()
            .collect();
        drop(store);
        let list_rv = start.as_ref().map_or(revision, |(_, rv)| *rv);
        let mut meta = serde_json::Map::new();
        meta.insert("resourceVersion".into(), json!(list_rv.to_string()));
        if limit > 0 && items.len() > limit {
            let remaining = items.len() - limit;
            items.truncate(limit);
            let last = key_of(&items[limit - 1]);
            meta.insert("continue".into(), json!(encode_continue(&last, list_rv)));
            if labels.is_empty() && fields.is_empty() {
                meta.insert("remainingItemCount".into(), json!(remaining));
            }
        }
        if let Output::Table(version) = self.output {
            let t = table::lease_table(
                version,
                &items,
                Value::Object(meta),
                q.get("includeObject"),
                self.now,
            );
            return Ok(Reply::json(200, gojson::to_body(&t)));
        }
        let list = json!({
            "kind": "LeaseList",
            "apiVersion": API_VERSION,
            "metadata": meta,
            "items": items.iter().map(|l| l.to_value(false)).collect::<Vec<_>>(),
        });
        Ok(Reply::json(200, gojson::to_body(&list)))
    }

    /// 410 Expired for a list at a revision whose changes left the history window: a continue
    /// token's, or an exact `resourceVersion` (the texts of the etcd store's compaction errors).
    fn check_list_not_compacted(
        &self,
        store: &Store,
        continued: Option<u64>,
    ) -> Result<(), Status> {
        if let Some(rv) = continued {
            return store.check_not_compacted(rv).map_err(|_| {
                Status::expired(
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                )
            });
        }
        let q = &self.req.query;
        if q.get("resourceVersionMatch") == Some("Exact")
            && let Ok(rv) = parse_rv(q.get("resourceVersion").unwrap_or_default())
        {
            return store.check_not_compacted(rv).map_err(|_| {
                Status::expired("The resourceVersion for the provided list is too old.")
            });
        }
        Ok(())
    }

    fn create(&self, namespace: &str) -> Result<Reply, Status> {
        let (decoded, warnings) = self.read_body()?;
        let mut lease = decoded.lease;
        Self::fill_namespace(&mut lease, namespace)?;
        let body_rv = std::mem::take(&mut lease.meta.resource_version);
        self.before_create(&mut lease)?;
        if matches!(parse_rv(&body_rv), Ok(rv) if rv != 0) {
            return Err(Status::internal_plain(
                "resourceVersion should not be set on objects to be created",
            ));
        }
        managed_fields::record_update(None, &mut lease, &self.update_manager(), self.now);
        let mut store = lock(&self.shared.store);
        if store.get(namespace, &lease.meta.name).is_some() {
            return Err(Status::already_exists(&lease.meta.name));
        }
        let stored = self.commit(&mut store, lease, Verb::Create);
        drop(store);
        let mut reply = self.object(201, &stored);
        reply.headers.extend(warnings);
        Ok(reply)
    }

    fn update(&self, namespace: &str, name: &str) -> Result<Reply, Status> {
        let (decoded, warnings) = self.read_body()?;
        let mut lease = decoded.lease;
        Self::fill_namespace_check_name(&mut lease, namespace, name)?;
        let mut store = lock(&self.shared.store);
        let precondition_uid = (!lease.meta.uid.is_empty()).then(|| lease.meta.uid.clone());
        let manager = self.update_manager();
        let (code, stored) = self.guaranteed_update(
            &mut store,
            namespace,
            name,
            lease,
            precondition_uid,
            Track::Update(&manager),
        )?;
        drop(store);
        let mut reply = self.object(code, &stored);
        reply.headers.extend(warnings);
        Ok(reply)
    }

    /// `Store.Update` inside etcd's `GuaranteedUpdate`: the uid precondition, the
    /// resourceVersion rules, create-on-update, BeforeUpdate, managedFields, the no-op check,
    /// the write.
    fn guaranteed_update(
        &self,
        store: &mut Store,
        namespace: &str,
        name: &str,
        mut lease: Lease,
        precondition_uid: Option<String>,
        track: Track<'_>,
    ) -> Result<(u16, Lease), Status> {
        lease.meta.show_managed_fields = self.shared.options.managed_fields;
        let existing = store.get(namespace, name).cloned();
        if let Some(uid) = precondition_uid {
            let current = existing
                .as_ref()
                .map(|l| l.meta.uid.as_str())
                .unwrap_or_default();
            if uid != current {
                return Err(Status::conflict(
                    name,
                    &format!(
                        "StorageError: invalid object, Code: 4, Key: /registry/{RESOURCE}/{namespace}/{name}, ResourceVersion: 0, AdditionalErrorMsg: Precondition failed: UID in precondition: {uid}, UID in object meta: {current}"
                    ),
                ));
            }
        }
        let new_rv = parse_rv(&lease.meta.resource_version).map_err(Status::internal_plain)?;
        let Some(old) = existing else {
            self.before_create(&mut lease)?;
            if let Track::Update(manager) = track {
                managed_fields::record_update(None, &mut lease, manager, self.now);
            }
            let stored = self.commit(store, lease, Verb::Create);
            return Ok((201, stored));
        };
        if new_rv == 0 {
            let err = FieldError::invalid(
                "metadata.resourceVersion",
                0,
                "must be specified for an update",
            );
            return Err(Status::invalid(RESOURCE, name, &[err]));
        }
        if lease.meta.resource_version != old.meta.resource_version {
            return Err(Status::conflict(
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        self.before_update(&mut lease, &old)?;
        if let Track::Update(manager) = track {
            managed_fields::record_update(Some(&old), &mut lease, manager, self.now);
        }
        if lease == old {
            return Ok((200, old));
        }
        let stored = self.commit(store, lease, Verb::Update);
        Ok((200, stored))
    }

    fn patch(&self, namespace: &str, name: &str) -> Result<Reply, Status> {
        let kind = patch::Kind::from_content_type(self.req.content_type.as_deref())
            .ok_or_else(Status::unsupported_patch)?;
        let options = PatchOptions::parse(&self.req.query, kind == patch::Kind::Apply)?;
        let mut store = lock(&self.shared.store);
        let old = store.get(namespace, name).cloned();
        let manager = self.update_manager();
        let (lease, track) = if kind == patch::Kind::Apply {
            (
                self.applied(old.as_ref(), &options, namespace, name)?,
                Track::Recorded,
            )
        } else {
            let old = old.ok_or_else(|| Status::not_found(name))?;
            let patched = patch::apply(kind, &old.to_value(true), &self.req.body)?;
            let body = gojson::to_string(&patched);
            let decoded = Lease::decode(body.as_bytes()).map_err(|e| {
                let err = FieldError::invalid_str("patch", &body, &e.raw);
                Status::invalid_in("", "", "", &[err])
            })?;
            let mut lease = decoded.lease;
            Self::fill_namespace_check_name(&mut lease, namespace, name)?;
            (lease, Track::Update(&manager))
        };
        let (code, stored) =
            self.guaranteed_update(&mut store, namespace, name, lease, None, track)?;
        drop(store);
        Ok(self.object(code, &stored))
    }

    /// A server-side apply's object: the configuration merged into `live` (or a new object),
    /// the name checks, and the manager's ownership recorded (409 on a conflict).
    fn applied(
        &self,
        live: Option<&Lease>,
        options: &PatchOptions,
        namespace: &str,
        name: &str,
    ) -> Result<Lease, Status> {
        let manager = &options.field_manager;
        let applied = apply::merge(live, &self.req.body, manager)?;
        let mut lease = applied.lease;
        if live.is_none() && !lease.meta.uid.is_empty() {
            return Err(Status::conflict(
                name,
                &format!(
                    "uid mismatch: the provided object specified uid {}, and no existing object was found",
                    lease.meta.uid
                ),
            ));
        }
        Self::fill_namespace_check_name(&mut lease, namespace, name)?;
        managed_fields::record_apply(
            live,
            &mut lease,
            manager,
            applied.config,
            options.force,
            self.now,
        )?;
        Ok(lease)
    }

    fn delete(&self, namespace: &str, name: &str) -> Result<Reply, Status> {
        let (uid, rv) = delete_preconditions(&self.req.body)?;
        let mut store = lock(&self.shared.store);
        let current = store
            .get(namespace, name)
            .ok_or_else(|| Status::not_found(name))?;
        if let Some(uid) = uid.filter(|u| *u != current.meta.uid) {
            return Err(Status::conflict_kind(
                name,
                &format!(
                    "the UID in the precondition ({uid}) does not match the UID in record ({}). The object might have been deleted and then recreated",
                    current.meta.uid
                ),
            ));
        }
        if let Some(rv) = rv.filter(|r| *r != current.meta.resource_version) {
            return Err(Status::conflict_kind(
                name,
                &format!(
                    "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record ({}). The object might have been modified",
                    current.meta.resource_version
                ),
            ));
        }
        let deleted = if self.dry_run() {
            current.clone()
        } else {
            store
                .delete(namespace, name, &self.req.user, self.now)
                .ok_or_else(|| Status::not_found(name))?
        };
        Ok(Status::deleted(name, &deleted.meta.uid).into())
    }
}

/// The `preconditions` of a DeleteOptions body (uid, resourceVersion); an empty body has none.
fn delete_preconditions(body: &[u8]) -> Result<(Option<String>, Option<String>), Status> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((None, None));
    }
    if let Err(e) = gojson::check_syntax(body) {
        return Err(Status::internal_plain(format!(
            "couldn't get version/kind; json parse error: {e}"
        )));
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Status::internal_plain(format!("couldn't get version/kind; json parse error: {e}"))
    })?;
    let pre = value.get("preconditions").cloned().unwrap_or(Value::Null);
    let field = |k: &str| -> Result<Option<String>, Status> {
        match pre.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(Status::internal_plain(format!(
                "json: cannot unmarshal {} into Go struct field Preconditions.preconditions.{k} of type string",
                gojson::value_kind(other)
            ))),
        }
    };
    Ok((field("uid")?, field("resourceVersion")?))
}

/// A continue token like the real server's: base64 of `{"v","rv","start"}`.
fn encode_continue(last_key: &str, rv: u64) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last_key}\u{0}")});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gojson::to_string(&token))
}

/// Reads a continue token: the key to start at and the list's revision.
fn decode_continue(token: &str) -> Result<(String, u64), Status> {
    let invalid = || {
        Status::bad_request(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
        )
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let start = v.get("start").and_then(Value::as_str).ok_or_else(invalid)?;
    let rv = v.get("rv").and_then(Value::as_u64).ok_or_else(invalid)?;
    Ok((start.to_owned(), rv))
}
