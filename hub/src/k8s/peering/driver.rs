//! [`KubePeeringDriver`]: the IO half of peering. `grant` creates (or finds) the contract
//! namespace, its ServiceAccount and RoleBinding, then mints a token with the TokenRequest API;
//! `revoke` deletes them. Every step tolerates a previous partial run.

use fluidos_protocol::reservation::{ContractSpec, LiqoCredentials};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::rbac::v1::RoleBinding;
use kube::api::{Api, DeleteParams, PostParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::kubeconfig::{KubeconfigParts, encode_base64, kubeconfig_yaml};
use super::names::{PEER_SERVICE_ACCOUNT, contract_namespace};
use super::objects::{
    LifetimeError, contract_namespace_object, owned_by, peer_role_binding, peer_service_account,
    same_grant, token_lifetime, token_request,
};
use super::{PeeringSettings, PeeringSettingsError};
use crate::rear::peering::{PeeringDriver, PeeringError};
use crate::store::BoxFuture;

/// Why a grant or a revoke failed.
#[derive(Debug, thiserror::Error)]
pub enum KubePeeringError {
    /// The contract has no usable expiry.
    #[error("contract {contract}: {source}")]
    Lifetime {
        /// Contract name.
        contract: String,
        /// What is wrong with its expiry.
        source: LifetimeError,
    },
    /// An API call failed.
    #[error("contract {contract}: cannot {action} {object}: {status}")]
    Api {
        /// Contract name.
        contract: String,
        /// `create`, `get`, `delete`, …
        action: &'static str,
        /// `Namespace x`, `ServiceAccount ns/x`, …
        object: String,
        /// The API status (code, reason, message) or transport error.
        status: String,
    },
    /// The namespace exists but is not ours for this contract; nothing is granted or deleted.
    #[error(
        "contract {contract}: namespace {namespace} exists and is not managed by fluidos-hub for this contract"
    )]
    Foreign {
        /// Contract name.
        contract: String,
        /// Namespace name.
        namespace: String,
    },
    /// The namespace is being deleted (the contract was revoked).
    #[error("contract {contract}: namespace {namespace} is being deleted")]
    Terminating {
        /// Contract name.
        contract: String,
        /// Namespace name.
        namespace: String,
    },
    /// An existing RoleBinding grants something else (e.g. `cluster_role` changed).
    #[error(
        "contract {contract}: RoleBinding {namespace}/{PEER_SERVICE_ACCOUNT} exists with another roleRef or subjects"
    )]
    RoleBindingMismatch {
        /// Contract name.
        contract: String,
        /// Namespace name.
        namespace: String,
    },
    /// The TokenRequest answered without a token.
    #[error(
        "contract {contract}: the TokenRequest for {namespace}/{PEER_SERVICE_ACCOUNT} returned no token"
    )]
    NoToken {
        /// Contract name.
        contract: String,
        /// Namespace name.
        namespace: String,
    },
    /// The kubeconfig cannot be written.
    #[error("contract {contract}: cannot write the kubeconfig: {source}")]
    Kubeconfig {
        /// Contract name.
        contract: String,
        /// The YAML error.
        source: serde_yaml::Error,
    },
}

impl From<KubePeeringError> for PeeringError {
    fn from(error: KubePeeringError) -> Self {
        PeeringError(error.to_string())
    }
}

/// Grants each contract a namespace-scoped, expiring kubeconfig on the cluster `client` talks to.
#[derive(Clone)]
pub struct KubePeeringDriver {
    client: Client,
    settings: PeeringSettings,
}

impl std::fmt::Debug for KubePeeringDriver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubePeeringDriver")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl KubePeeringDriver {
    /// A driver using `client` (which needs the RBAC listed in the module doc of
    /// [`super`]); fails when `settings` are unusable.
    pub fn new(client: Client, settings: PeeringSettings) -> Result<Self, PeeringSettingsError> {
        settings.validate()?;
        Ok(Self { client, settings })
    }

    /// The settings in use.
    pub fn settings(&self) -> &PeeringSettings {
        &self.settings
    }

    /// The namespace of contract `name`.
    pub fn namespace_of(&self, name: &str) -> String {
        contract_namespace(&self.settings.namespace_prefix, name)
    }

    /// Create (or reuse) the contract's objects and mint a token valid until it ends.
    pub async fn grant_contract(
        &self,
        name: &str,
        contract: &ContractSpec,
    ) -> Result<LiqoCredentials, KubePeeringError> {
        let now = crate::clock::now();
        let seconds = token_lifetime(now, &contract.expiration_time).map_err(|source| {
            KubePeeringError::Lifetime {
                contract: name.to_owned(),
                source,
            }
        })?;
        let ns = self.namespace_of(name);
        let call = Call { contract: name };
        self.ensure_namespace(&call, &ns).await?;
        let sa = peer_service_account(&ns, name);
        create_or_reuse(&call, &Api::namespaced(self.client.clone(), &ns), &sa).await?;
        self.ensure_role_binding(&call, &ns).await?;
        let token = self.mint_token(&call, &ns, seconds).await?;
        let parts = KubeconfigParts {
            cluster_name: &self.settings.cluster_id,
            server: &self.settings.api_server,
            ca_pem: &self.settings.ca_pem,
            token: &token,
            namespace: &ns,
        };
        let yaml = kubeconfig_yaml(&parts).map_err(|source| KubePeeringError::Kubeconfig {
            contract: name.to_owned(),
            source,
        })?;
        tracing::info!(contract = %name, namespace = %ns, token_seconds = seconds, "peering granted");
        Ok(LiqoCredentials {
            liqo_id: self.settings.cluster_id.clone(),
            kubeconfig: encode_base64(yaml.as_bytes()),
        })
    }

    /// Delete the contract's RoleBinding, ServiceAccount (invalidating its tokens) and
    /// namespace. Already gone is success; a namespace that is not ours is left alone.
    pub async fn revoke_contract(&self, name: &str) -> Result<(), KubePeeringError> {
        let ns = self.namespace_of(name);
        let call = Call { contract: name };
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let Some(existing) = call.get(&namespaces, &ns).await? else {
            tracing::debug!(contract = %name, namespace = %ns, "peering already revoked");
            return Ok(());
        };
        if !owned_by(&existing.metadata, name) {
            return Err(call.foreign(&ns));
        }
        let bindings: Api<RoleBinding> = Api::namespaced(self.client.clone(), &ns);
        call.delete(&bindings, PEER_SERVICE_ACCOUNT).await?;
        let accounts: Api<ServiceAccount> = Api::namespaced(self.client.clone(), &ns);
        call.delete(&accounts, PEER_SERVICE_ACCOUNT).await?;
        call.delete(&namespaces, &ns).await?;
        tracing::info!(contract = %name, namespace = %ns, "peering revoked");
        Ok(())
    }

    /// Create the namespace, or accept an existing one that is ours and not terminating.
    async fn ensure_namespace(&self, call: &Call<'_>, ns: &str) -> Result<(), KubePeeringError> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let wanted = contract_namespace_object(ns, call.contract);
        let existing = create_or_reuse(call, &api, &wanted).await?;
        if !owned_by(&existing.metadata, call.contract) {
            return Err(call.foreign(ns));
        }
        if existing.metadata.deletion_timestamp.is_some() {
            return Err(KubePeeringError::Terminating {
                contract: call.contract.to_owned(),
                namespace: ns.to_owned(),
            });
        }
        Ok(())
    }

    /// Create the RoleBinding, or accept an existing one granting the same.
    async fn ensure_role_binding(&self, call: &Call<'_>, ns: &str) -> Result<(), KubePeeringError> {
        let wanted = peer_role_binding(ns, call.contract, &self.settings.cluster_role);
        let api: Api<RoleBinding> = Api::namespaced(self.client.clone(), ns);
        let existing = create_or_reuse(call, &api, &wanted).await?;
        if same_grant(&existing, &wanted) {
            Ok(())
        } else {
            Err(KubePeeringError::RoleBindingMismatch {
                contract: call.contract.to_owned(),
                namespace: ns.to_owned(),
            })
        }
    }

    /// A fresh token for the contract's ServiceAccount, valid `seconds`.
    async fn mint_token(
        &self,
        call: &Call<'_>,
        ns: &str,
        seconds: i64,
    ) -> Result<String, KubePeeringError> {
        let api: Api<ServiceAccount> = Api::namespaced(self.client.clone(), ns);
        let request = token_request(seconds);
        let answer = api
            .create_token_request(PEER_SERVICE_ACCOUNT, &PostParams::default(), &request)
            .await
            .map_err(|e| {
                call.api_error("create", &api, &format!("{PEER_SERVICE_ACCOUNT}/token"), &e)
            })?;
        match answer.status.map(|s| s.token) {
            Some(token) if !token.is_empty() => Ok(token),
            _ => Err(KubePeeringError::NoToken {
                contract: call.contract.to_owned(),
                namespace: ns.to_owned(),
            }),
        }
    }
}

impl PeeringDriver for KubePeeringDriver {
    fn grant<'a>(
        &'a self,
        name: &'a str,
        contract: &'a ContractSpec,
    ) -> BoxFuture<'a, Result<LiqoCredentials, PeeringError>> {
        Box::pin(async move { Ok(self.grant_contract(name, contract).await?) })
    }

    fn revoke<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), PeeringError>> {
        Box::pin(async move { Ok(self.revoke_contract(name).await?) })
    }
}

/// API calls on behalf of one contract, with errors that say which object and which contract.
struct Call<'a> {
    contract: &'a str,
}

impl Call<'_> {
    async fn get<K>(&self, api: &Api<K>, name: &str) -> Result<Option<K>, KubePeeringError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        api.get_opt(name)
            .await
            .map_err(|e| self.api_error("get", api, name, &e))
    }

    /// Delete `name`; NotFound is success.
    async fn delete<K>(&self, api: &Api<K>, name: &str) -> Result<(), KubePeeringError>
    where
        K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.is_not_found() => Ok(()),
            Err(e) => Err(self.api_error("delete", api, name, &e)),
        }
    }

    fn foreign(&self, namespace: &str) -> KubePeeringError {
        KubePeeringError::Foreign {
            contract: self.contract.to_owned(),
            namespace: namespace.to_owned(),
        }
    }

    fn api_error<K>(
        &self,
        action: &'static str,
        api: &Api<K>,
        name: &str,
        error: &kube::Error,
    ) -> KubePeeringError
    where
        K: Resource<DynamicType = ()>,
    {
        KubePeeringError::Api {
            contract: self.contract.to_owned(),
            action,
            object: object_label::<K>(api.namespace(), name),
            status: describe(error),
        }
    }
}

/// Create `object`; on AlreadyExists, the object as it is on the server.
async fn create_or_reuse<K>(
    call: &Call<'_>,
    api: &Api<K>,
    object: &K,
) -> Result<K, KubePeeringError>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let name = object.meta().name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), object).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(status)) if status.is_already_exists() => {
            tracing::debug!(contract = %call.contract, kind = %K::kind(&()), %name, "reusing");
            // Deleted in between: report it like any missing object.
            call.get(api, &name)
                .await?
                .ok_or_else(|| KubePeeringError::Api {
                    contract: call.contract.to_owned(),
                    action: "get",
                    object: object_label::<K>(api.namespace(), &name),
                    status: "404 NotFound after AlreadyExists".to_owned(),
                })
        }
        Err(e) => Err(call.api_error("create", api, &name, &e)),
    }
}

/// `Kind namespace/name` (or `Kind name` when cluster-scoped).
fn object_label<K: Resource<DynamicType = ()>>(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{} {ns}/{name}", K::kind(&())),
        None => format!("{} {name}", K::kind(&())),
    }
}

/// An API status as `code reason: message`; other errors as they display.
fn describe(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => {
            format!("{} {}: {}", status.code, status.reason, status.message)
        }
        other => other.to_string(),
    }
}
