//! From the forms to `Answers` (and the provider keys typed). The rules are `answers`'s own
//! (one validator for every front end); here a problem is placed on the field as the screen
//! labels it.

use crate::answers::{self, Answers, Model, is_env_var_name};
use crate::i18n::Msg as Text;
use crate::platform;
use crate::secrets::Secret;

use super::app::{App, ModelsFocus, ModelsForm, PortsField, PortsForm, Provider};

/// A problem on a form: the message, and where to put the keyboard.
#[derive(Debug, Clone, PartialEq)]
pub struct FormError {
    pub msg: Text,
    pub focus: FormFocus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormFocus {
    Directory,
    Models { row: usize, field: ModelsFocus },
    Ports(PortsField),
}

fn split_names(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(String::from)
        .collect()
}

/// The install directory typed, `~` expanded.
pub fn directory(app: &App) -> Result<std::path::PathBuf, FormError> {
    let raw = app.directory.input.value().trim();
    let err = |msg| FormError {
        msg,
        focus: FormFocus::Directory,
    };
    if raw.is_empty() {
        return Err(err(msg!("wizard.error.dir_empty")));
    }
    let dir = platform::expand_tilde(std::path::Path::new(raw));
    if !platform::is_absolute_for(app.os, &dir) {
        return Err(err(msg!("wizard.error.dir_relative").arg("value", raw)));
    }
    Ok(dir)
}

/// The models the form describes, plus the ones kept from the loaded answers.
pub fn models(form: &ModelsForm) -> Result<Vec<Model>, FormError> {
    let mut out = Vec::new();
    let mut seen: Vec<String> = form.other_models.iter().filter_map(|m| m.name.clone()).collect();
    for (row, p) in form.providers.iter().enumerate() {
        if !p.enabled {
            continue;
        }
        let at = |field| FormFocus::Models { row, field };
        let names = split_names(p.models.value());
        if names.is_empty() {
            return Err(FormError {
                msg: Text::new(if p.provider == Provider::Azure {
                    key!("wizard.error.deployments_empty")
                } else {
                    key!("wizard.error.models_empty")
                })
                .arg("provider", p.provider.label()),
                focus: at(ModelsFocus::Models),
            });
        }
        let (api_base, api_version) = if p.provider == Provider::Azure {
            let base = p.api_base.value().trim();
            if answers::check_api_base(base).is_err() {
                return Err(FormError {
                    msg: msg!("wizard.error.azure_base"),
                    focus: at(ModelsFocus::ApiBase),
                });
            }
            let version = p.api_version.value().trim();
            if answers::check_api_version(version).is_err() {
                return Err(FormError {
                    msg: msg!("wizard.error.azure_version"),
                    focus: at(ModelsFocus::ApiVersion),
                });
            }
            (Some(base.to_string()), Some(version.to_string()))
        } else {
            (None, None)
        };
        for n in names {
            // The form names the provider's model after the model: both must pass.
            let model = format!("{}/{n}", p.provider.prefix());
            if answers::check_model_name(Some(&n))
                .and(answers::check_provider_model(Some(&model)))
                .is_err()
            {
                return Err(FormError {
                    msg: msg!("wizard.error.model_name")
                        .arg("provider", p.provider.label())
                        .arg("value", &n),
                    focus: at(ModelsFocus::Models),
                });
            }
            if seen.contains(&n) || (form.smoke_test && n == crate::answers::SMOKE_TEST_MODEL) {
                return Err(FormError {
                    msg: msg!("wizard.error.model_twice").arg("value", &n),
                    focus: at(ModelsFocus::Models),
                });
            }
            seen.push(n.clone());
            debug_assert!(is_env_var_name(p.provider.key_var()));
            out.push(Model {
                model: Some(model),
                name: Some(n),
                api_key_env: Some(p.provider.key_var().to_string()),
                api_base: api_base.clone(),
                api_version: api_version.clone(),
            });
        }
    }
    out.extend(form.other_models.iter().cloned());
    if out.is_empty() && !form.smoke_test {
        return Err(FormError {
            msg: msg!("wizard.error.no_models"),
            focus: FormFocus::Models {
                row: form.smoke_row(),
                field: ModelsFocus::List,
            },
        });
    }
    Ok(out)
}

fn port_label(field: PortsField) -> Text {
    Text::new(match field {
        PortsField::NginxPort => key!("wizard.ports.nginx_port"),
        PortsField::LitellmPort => key!("wizard.ports.litellm_port"),
        _ => key!("wizard.ports.prometheus_port"),
    })
}

fn parse_port(form: &PortsForm, field: PortsField, optional: bool) -> Result<Option<u32>, FormError> {
    let input = match field {
        PortsField::NginxPort => &form.nginx_port,
        PortsField::LitellmPort => &form.litellm_port,
        _ => &form.prometheus_port,
    };
    let raw = input.value().trim();
    if raw.is_empty() && optional {
        return Ok(None);
    }
    match raw.parse::<u32>() {
        Ok(p) if answers::check_port(p).is_ok() => Ok(Some(p)),
        _ => Err(FormError {
            msg: msg!("wizard.error.port_number")
                .nested("field", port_label(field))
                .arg("value", raw),
            focus: FormFocus::Ports(field),
        }),
    }
}

/// Applies the ports form to `a`.
pub fn apply_ports(form: &PortsForm, a: &mut Answers) -> Result<(), FormError> {
    let nginx = if form.nginx_enabled {
        parse_port(form, PortsField::NginxPort, false)?
    } else {
        // Kept (unused) so turning nginx back on later finds the old value.
        parse_port(form, PortsField::NginxPort, true).ok().flatten()
    };
    let litellm = parse_port(form, PortsField::LitellmPort, true)?;
    let prometheus = if form.prometheus_enabled {
        parse_port(form, PortsField::PrometheusPort, false)?
    } else {
        parse_port(form, PortsField::PrometheusPort, true).ok().flatten()
    };
    if !form.nginx_enabled && litellm.is_none() {
        return Err(FormError {
            msg: msg!("wizard.error.no_entry_point"),
            focus: FormFocus::Ports(PortsField::LitellmPort),
        });
    }
    let mut used: Vec<(PortsField, u32)> = Vec::new();
    let published = [
        (PortsField::NginxPort, if form.nginx_enabled { nginx } else { None }),
        (PortsField::LitellmPort, litellm),
        (
            PortsField::PrometheusPort,
            if form.prometheus_enabled { prometheus } else { None },
        ),
    ];
    for (field, port) in published {
        let Some(port) = port else { continue };
        if let Some((other, _)) = used.iter().find(|(_, p)| *p == port) {
            return Err(FormError {
                msg: msg!("wizard.error.port_twice")
                    .nested("field", port_label(field))
                    .nested("other", port_label(*other))
                    .arg("value", port),
                focus: FormFocus::Ports(field),
            });
        }
        used.push((field, port));
    }
    a.services.nginx = form.nginx_enabled;
    a.services.prometheus = form.prometheus_enabled;
    if let Some(p) = nginx {
        a.ports.nginx = p;
    }
    a.ports.litellm = litellm;
    a.ports.prometheus = prometheus;
    a.bind.nginx = if form.nginx_public { "0.0.0.0" } else { "127.0.0.1" }.into();
    Ok(())
}

/// The answers the forms describe, checked screen by screen, then as a whole.
pub fn answers(app: &App) -> Result<Answers, FormError> {
    let mut a = app.base.clone();
    a.dir = directory(app)?;
    a.language = Some(app.lang);
    a.models = models(&app.models)?;
    a.smoke_test_model = app.models.smoke_test;
    apply_ports(&app.ports, &mut a)?;
    Ok(a)
}

/// The provider keys typed, by `.env` variable, for providers that are on.
pub fn provider_keys(form: &ModelsForm) -> Vec<(String, Secret)> {
    form.providers
        .iter()
        .filter(|p| p.enabled && !p.key.is_empty() && !p.key_in_env)
        .map(|p| (p.provider.key_var().to_string(), p.key.to_secret()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::Os;
    use crate::tui::app::{ModelsForm, Provider};

    /// The wizard and an answers file take the same model names: the form builds
    /// `openai/<name>` from a name, and `answers` judges both. (A `,` separates names in the
    /// form, so a name with one can only come from an answers file.)
    #[test]
    fn the_form_accepts_exactly_the_model_names_answers_accepts() {
        let names = [
            "gpt-4o",
            "gpt\"4",
            "it's",
            "a$b",
            "x#y",
            "{m}",
            "`x`",
            "模型",
            "a/b",
            "ctl\u{7}",
            " padded ",
            "gpt 4o",
            "tab\there",
            "smoke-test",
            "",
        ];
        let mut accepted = 0;
        for n in names {
            let mut a = Answers::defaults_for(Os::Linux);
            a.models = vec![Model {
                name: Some(n.into()),
                model: Some(format!("openai/{}", n.trim())),
                api_key_env: Some("OPENAI_API_KEY".into()),
                ..Model::default()
            }];
            let by_answers = a.check(Os::Linux).is_ok();
            let mut form = ModelsForm::from_answers(&Answers::defaults_for(Os::Linux), &[]);
            let row = form
                .providers
                .iter_mut()
                .find(|p| p.provider == Provider::OpenAi)
                .expect("an OpenAI row");
            row.enabled = true;
            row.models.set(n);
            let by_form = models(&form).is_ok();
            assert_eq!(by_form, by_answers, "{n:?}: form {by_form}, answers {by_answers}");
            accepted += usize::from(by_answers);
        }
        assert!(accepted >= 10 && accepted < names.len(), "{accepted}");
    }
}
