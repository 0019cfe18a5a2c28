//! The state of the wizard's two forms with many fields: the models (providers, their keys, the
//! smoke-test model) and the ports. Part of the app state (`app.rs` re-exports them).

use crate::answers::{Answers, Model};

use super::input::{SecretInput, TextInput};

/// A provider the wizard offers, with LiteLLM's prefix and the `.env` variable of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    OpenAi,
    Anthropic,
    Azure,
    Gemini,
}

impl Provider {
    pub const ALL: [Provider; 4] = [Provider::OpenAi, Provider::Anthropic, Provider::Azure, Provider::Gemini];

    pub fn label(self) -> &'static str {
        match self {
            Provider::OpenAi => "OpenAI",
            Provider::Anthropic => "Anthropic",
            Provider::Azure => "Azure OpenAI",
            Provider::Gemini => "Google Gemini",
        }
    }

    /// LiteLLM's provider prefix in `litellm_params.model`.
    pub fn prefix(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Azure => "azure",
            Provider::Gemini => "gemini",
        }
    }

    pub fn key_var(self) -> &'static str {
        match self {
            Provider::OpenAi => "OPENAI_API_KEY",
            Provider::Anthropic => "ANTHROPIC_API_KEY",
            Provider::Azure => "AZURE_API_KEY",
            Provider::Gemini => "GEMINI_API_KEY",
        }
    }

    /// Offered when the user turns the provider on; editable.
    pub fn suggested_models(self) -> &'static str {
        match self {
            Provider::OpenAi => "gpt-4o-mini",
            Provider::Anthropic => "claude-sonnet-4-5",
            Provider::Azure => "",
            Provider::Gemini => "gemini-2.0-flash",
        }
    }
}

/// Azure's API version when the user gives none.
pub const AZURE_DEFAULT_API_VERSION: &str = "2024-10-21";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderForm {
    pub provider: Provider,
    pub enabled: bool,
    /// Model names, comma-separated (Azure: deployment names).
    pub models: TextInput,
    pub key: SecretInput,
    /// `.env` already holds a non-empty key for this provider: it is kept.
    pub key_in_env: bool,
    pub api_base: TextInput,
    pub api_version: TextInput,
}

/// Where the keyboard is on the models screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelsFocus {
    List,
    Models,
    Key,
    ApiBase,
    ApiVersion,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ModelsForm {
    pub providers: Vec<ProviderForm>,
    /// Row in the list: one per provider, then the smoke-test model.
    pub selected: usize,
    pub focus: ModelsFocus,
    pub smoke_test: bool,
    /// Models of a loaded answers file that the form does not describe (other providers, or a
    /// name differing from the provider's model): kept as they are.
    pub other_models: Vec<Model>,
}

impl ModelsForm {
    pub fn smoke_row(&self) -> usize {
        self.providers.len()
    }

    pub fn selected_provider(&self) -> Option<&ProviderForm> {
        self.providers.get(self.selected)
    }

    /// The fields of the selected provider, in Tab order.
    pub fn fields(&self) -> Vec<ModelsFocus> {
        match self.selected_provider() {
            Some(p) if p.enabled => {
                let mut f = vec![ModelsFocus::List, ModelsFocus::Models, ModelsFocus::Key];
                if p.provider == Provider::Azure {
                    f.extend([ModelsFocus::ApiBase, ModelsFocus::ApiVersion]);
                }
                f
            }
            _ => vec![ModelsFocus::List],
        }
    }

    /// From answers: each model the form can describe lands on its provider's row.
    pub fn from_answers(a: &Answers, env_keys: &[String]) -> ModelsForm {
        let mut providers: Vec<ProviderForm> = Provider::ALL
            .iter()
            .map(|&p| ProviderForm {
                provider: p,
                enabled: false,
                models: TextInput::default(),
                key: SecretInput::default(),
                key_in_env: env_keys.iter().any(|k| k == p.key_var()),
                api_base: TextInput::default(),
                api_version: TextInput::new(AZURE_DEFAULT_API_VERSION),
            })
            .collect();
        let mut other_models = Vec::new();
        let mut names: Vec<Vec<String>> = vec![Vec::new(); providers.len()];
        for m in &a.models {
            let slot = m
                .model
                .as_deref()
                .and_then(|full| full.split_once('/'))
                .and_then(|(prefix, rest)| {
                    let i = Provider::ALL.iter().position(|p| p.prefix() == prefix)?;
                    let p = Provider::ALL[i];
                    let same_name = m.name.as_deref() == Some(rest);
                    let same_key = m.api_key_env.as_deref() == Some(p.key_var());
                    let azure_ok = p == Provider::Azure || (m.api_base.is_none() && m.api_version.is_none());
                    let azure_consistent = p != Provider::Azure
                        || names[i].is_empty()
                        || (providers[i].api_base.value() == m.api_base.as_deref().unwrap_or_default()
                            && providers[i].api_version.value() == m.api_version.as_deref().unwrap_or_default());
                    (same_name && same_key && azure_ok && azure_consistent).then_some((i, rest.to_string()))
                });
            match slot {
                Some((i, name)) => {
                    if Provider::ALL[i] == Provider::Azure {
                        providers[i].api_base.set(m.api_base.clone().unwrap_or_default());
                        providers[i].api_version.set(m.api_version.clone().unwrap_or_default());
                    }
                    names[i].push(name);
                }
                None => other_models.push(m.clone()),
            }
        }
        for (p, n) in providers.iter_mut().zip(names) {
            if !n.is_empty() {
                p.enabled = true;
                p.models.set(n.join(", "));
            }
        }
        ModelsForm {
            providers,
            selected: 0,
            focus: ModelsFocus::List,
            smoke_test: a.smoke_test_model,
            other_models,
        }
    }
}

/// The fields of the ports screen, in Tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortsField {
    NginxEnabled,
    NginxPort,
    NginxPublic,
    LitellmPort,
    PrometheusEnabled,
    PrometheusPort,
}

impl PortsField {
    pub const ALL: [PortsField; 6] = [
        PortsField::NginxEnabled,
        PortsField::NginxPort,
        PortsField::NginxPublic,
        PortsField::LitellmPort,
        PortsField::PrometheusEnabled,
        PortsField::PrometheusPort,
    ];

    pub fn is_text(self) -> bool {
        matches!(
            self,
            PortsField::NginxPort | PortsField::LitellmPort | PortsField::PrometheusPort
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortsForm {
    pub focus: usize,
    pub nginx_enabled: bool,
    pub nginx_port: TextInput,
    /// Nginx on every interface (other machines reach the gateway) or this machine only.
    pub nginx_public: bool,
    /// Empty: LiteLLM's own port is not published.
    pub litellm_port: TextInput,
    pub prometheus_enabled: bool,
    pub prometheus_port: TextInput,
    /// The ports are being checked again before the review.
    pub checking: bool,
}

impl PortsForm {
    pub fn from_answers(a: &Answers) -> PortsForm {
        let opt = |p: Option<u32>| TextInput::new(p.map(|p| p.to_string()).unwrap_or_default());
        PortsForm {
            focus: 0,
            nginx_enabled: a.services.nginx,
            nginx_port: TextInput::new(a.ports.nginx.to_string()),
            nginx_public: a.bind.nginx == "0.0.0.0" || a.bind.nginx == "::",
            litellm_port: opt(a.ports.litellm),
            prometheus_enabled: a.services.prometheus,
            prometheus_port: opt(a.ports.prometheus),
            checking: false,
        }
    }

    pub fn field(&self) -> PortsField {
        PortsField::ALL[self.focus.min(PortsField::ALL.len() - 1)]
    }
}
