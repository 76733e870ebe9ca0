//! The status page: an overview in plain words for the admin, and a diagnostics tab for support.
//!
//! The page polls the `get_status` server function every second (gloo-timers in the browser)
//! and re-renders the open tab from the new document; the tab itself lives in the URL
//! (`?tab=diagnostics`) so support can share it. Switching tabs pushes the URL to the history
//! without a reload, and the browser's back button switches back.

use crate::api::get_status;
use crate::format;
use crate::status::*;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

/// How often the browser asks for the latest document.
pub const POLL_INTERVAL_MS: u32 = 1_000;

/// Milliseconds since the epoch in the browser; `None` on the server.
fn browser_now_ms() -> Option<f64> {
    #[cfg(feature = "hydrate")]
    {
        Some(js_sys::Date::now())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

/// The page's path: the request's on the server, the location's in the browser.
pub fn request_path() -> Option<String> {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return Some(parts.uri.path().to_string());
    }
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        return window.location().pathname().ok();
    }
    None
}

/// The page's query string without `?`, as [`request_path`] finds it.
fn request_query() -> String {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return parts.uri.query().unwrap_or_default().to_string();
    }
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        return window
            .location()
            .search()
            .unwrap_or_default()
            .trim_start_matches('?')
            .to_string();
    }
    String::new()
}

/// The open tab; `?tab=diagnostics` in the URL opens the diagnostics tab.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Diagnostics,
}

impl Tab {
    /// The tab a query string (without `?`) asks for.
    pub fn from_query(query: &str) -> Tab {
        if query.split('&').any(|pair| pair == "tab=diagnostics") {
            Tab::Diagnostics
        } else {
            Tab::Overview
        }
    }

    /// The URL that opens this tab.
    pub fn href(self) -> &'static str {
        match self {
            Tab::Overview => "/",
            Tab::Diagnostics => "/?tab=diagnostics",
        }
    }
}

/// A tab's link: a real link (a new browser tab or a shared URL opens it), switched in place on a
/// plain click.
#[component]
fn TabLink(
    open: RwSignal<Tab>,
    to: Tab,
    testid: &'static str,
    children: Children,
) -> impl IntoView {
    view! {
        <a href=to.href() role="tab" data-testid=testid
           aria-selected=move || (open.get() == to).to_string()
           class=move || if open.get() == to { "tab active" } else { "tab" }
           on:click=move |ev| {
               if ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key()) {
                   ev.prevent_default();
                   push_url(to.href());
                   open.set(to);
               }
           }>{children()}</a>
    }
}

fn push_url(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(url));
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// The one page: header, tabs, and the open tab's content.
#[component]
pub fn StatusPage() -> impl IntoView {
    let poll = RwSignal::new(0u64);
    let status = Resource::new(move || poll.get(), |_| get_status());
    // When the last document arrived, and the browser clock, for "updated N s ago".
    let received_at = RwSignal::new(None::<f64>);
    let clock = RwSignal::new(None::<f64>);
    let last_good = RwSignal::new(None::<StatusDocument>);

    Effect::new(move |_| {
        if let Some(Ok(doc)) = status.get() {
            received_at.set(browser_now_ms());
            last_good.set(Some(doc));
        }
    });
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        // Runs once, in the browser: the page lives as long as the tab, so the timers do too.
        gloo_timers::callback::Interval::new(POLL_INTERVAL_MS, move || poll.update(|n| *n += 1))
            .forget();
        gloo_timers::callback::Interval::new(1_000, move || clock.set(browser_now_ms())).forget();
        clock.set(browser_now_ms());
    });

    let tab = RwSignal::new(Tab::from_query(&request_query()));
    // Back and forward move between the tabs' URLs.
    #[cfg(feature = "hydrate")]
    let _ = window_event_listener(leptos::ev::popstate, move |_| {
        tab.set(Tab::from_query(&request_query()))
    });
    let diagnostics = move || tab.get() == Tab::Diagnostics;
    let event_filter = RwSignal::new(String::new());

    let updated = move || match (received_at.get(), clock.get()) {
        (Some(at), Some(now)) => {
            format!(
                "updated {} ago",
                format::duration(((now - at) / 1000.0).max(0.0) as u64)
            )
        }
        _ => String::from("live"),
    };

    view! {
        <header class="masthead">
            <h1>"Appliance status"</h1>
            <p class="updated" data-testid="updated">{updated}</p>
            <form method="post" action="/logout" class="logout">
                <button type="submit" data-testid="logout">"Log out"</button>
            </form>
        </header>
        <nav class="tabs" role="tablist" aria-label="Views">
            <TabLink open=tab to=Tab::Overview testid="tab-overview">"Overview"</TabLink>
            <TabLink open=tab to=Tab::Diagnostics testid="tab-diagnostics">"Advanced diagnostics"</TabLink>
        </nav>
        <main class="page" role="tabpanel">
            <Transition fallback=|| view! { <p class="loading">"Loading status…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(doc) => EitherOf3::A(view! { <Document doc diagnostics event_filter/> }),
                        Err(err) if err.to_string().contains("log in again") => {
                            // The session ended (logout elsewhere, expiry, new token, restart).
                            go_to_login();
                            EitherOf3::B(view! { <p class="loading">"Session ended; opening the login page…"</p> })
                        }
                        Err(err) => EitherOf3::C(view! {
                            <div class="banner error" role="alert">
                                "Cannot reach the status service, retrying. (" {err.to_string()} ")"
                            </div>
                            {move || last_good.get().map(|doc| view! {
                                <Document doc diagnostics event_filter/>
                            })}
                        }),
                    }
                })}
            </Transition>
        </main>
    }
}

/// The open tab for one document.
#[component]
fn Document(
    doc: StatusDocument,
    diagnostics: impl Fn() -> bool + Send + Sync + Copy + 'static,
    event_filter: RwSignal<String>,
) -> impl IntoView {
    let stale = doc.source.stale.then(|| {
        let message = doc
            .source
            .message
            .clone()
            .unwrap_or_else(|| "The data is not current.".into());
        view! { <div class="banner stale" role="alert" data-testid="stale-banner">"⚠ " {message}</div> }
    });
    let doc_for_diag = doc.clone();
    view! {
        {stale}
        {move || if diagnostics() {
            Either::Left(view! { <Diagnostics doc=doc_for_diag.clone() event_filter/> })
        } else {
            Either::Right(view! { <Overview doc=doc.clone()/> })
        }}
    }
}

/// "login expected …" → "Login expected …" (ASCII: the messages are ours).
fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

fn rollup_icon(state: RollupState) -> &'static str {
    match state {
        RollupState::Installing => "⏳",
        RollupState::ReadyToLogIn => "✔",
        RollupState::ReadyWithBackgroundIssues => "⚠",
        RollupState::FullyHealthy => "✔",
        RollupState::FailedActionRequired => "✖",
    }
}

fn rollup_class(state: RollupState) -> &'static str {
    match state {
        RollupState::Installing => "rollup installing",
        RollupState::ReadyToLogIn => "rollup ready",
        RollupState::ReadyWithBackgroundIssues => "rollup degraded",
        RollupState::FullyHealthy => "rollup healthy",
        RollupState::FailedActionRequired => "rollup failed",
    }
}

fn tier_icon(tier: &TierStatus) -> (&'static str, &'static str) {
    match (tier.ready, tier.status) {
        (true, _) => ("✔", "done"),
        (false, TierHealth::Failed) => ("✖", "failed"),
        (false, TierHealth::Degraded) => ("⚠", "degraded"),
        (false, _) => ("…", "waiting"),
    }
}

/// The admin's view: can I log in, and if not, what is the one thing to do.
#[component]
fn Overview(doc: StatusDocument) -> impl IntoView {
    let state = doc.rollup.state;
    let login_ready = doc.tiers.login.ready;
    let login_url = doc.urls.login_url.clone().filter(|_| login_ready);
    let background = doc.background_issue_count();
    let top = doc.top_blockers.first().cloned();
    let unconfirmed = doc.unconfirmed.clone();
    let tiers = Tier::ALL.map(|t| (t, doc.tiers.get(t).clone()));
    // The admin sees downloads, the bootstrap and pods waiting their turn; Flux reconciliations
    // and waits are for the diagnostics tab.
    let pulls: Vec<Operation> = doc
        .active_operations
        .iter()
        .filter(|op| {
            op.kind != OperationKind::Reconciliation
                && op.target.starts_with(|c: char| c != 'K' && c != 'H')
        })
        .cloned()
        .collect();
    let copied = RwSignal::new(false);
    let estimate = doc.estimate.clone();
    let update = doc.release.update.clone();

    view! {
        <section class=rollup_class(state) aria-live="polite" data-testid="rollup">
            <p class="rollup-state">
                <span class="icon" aria-hidden="true">{rollup_icon(state)}</span>
                " " <span data-testid="rollup-state">{state.label()}</span>
            </p>
            <p class="rollup-message">{doc.rollup.message.clone()}</p>
            <p class="rollup-next"><strong>"Next: "</strong>{doc.rollup.next_action.clone()}</p>
            {update.map(|u| view! {
                <p class="update" data-testid="update" data-state=u.state.as_str()>{u.message}</p>
            })}
            {estimate.map(|e| view! {
                <div class="estimate" data-testid="estimate">
                    <p><strong>{capitalized(&e.message)}</strong></p>
                    <details><summary>"Based on"</summary>
                        <ul data-testid="estimate-basis">{e.basis.into_iter().map(|b| view! { <li>{b}</li> }).collect_view()}</ul>
                    </details>
                </div>
            })}
        </section>
        {login_url.map(|url| {
            let copy_url = url.clone();
            view! {
                <section class="card login" data-testid="login-url">
                    <h2>"Log in to Alga"</h2>
                    <p>
                        <a href=url.clone() rel="noopener">{url.clone()}</a>
                        " "
                        <button type="button" data-testid="copy-login-url" on:click=move |_| {
                            copy_to_clipboard(&copy_url);
                            copied.set(true);
                        }>{move || if copied.get() { "Copied ✔" } else { "Copy" }}</button>
                    </p>
                </section>
            }
        })}
        <section class="card">
            <h2>"Progress"</h2>
            <ol class="tier-progress" data-testid="tier-progress">
                {tiers.into_iter().map(|(tier, status)| {
                    let (icon, class) = tier_icon(&status);
                    view! {
                        <li class=class data-tier=tier.readiness_name()>
                            <span class="icon" aria-hidden="true">{icon}</span>
                            " " {tier.label()} " "
                            <span class="visually-hidden">{if status.ready { "(ready)" } else { "(not ready)" }}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            {(background > 0).then(|| view! {
                <p class="background-count" data-testid="background-count">
                    "⚠ " {background} {if background == 1 { " background service needs" } else { " background services need" }} " attention"
                </p>
            })}
        </section>
        {top.map(|b| view! {
            <section class="card top-issue" data-testid="top-issue">
                <h2>"Top issue"</h2>
                <p class="reason"><strong>{b.component.clone()}</strong>": " {b.reason.clone()}</p>
                <p><strong>"What to do: "</strong>{b.next_action.clone()}</p>
                <p class="muted">{if b.login_blocking { "Blocks login." } else { "Does not block login." }}</p>
            </section>
        })}
        {(!unconfirmed.is_empty()).then(|| view! {
            <section class="card just-seen" data-testid="unconfirmed">
                <h2>"Just seen"</h2>
                <p class="muted">"Not yet confirmed: counted once it holds for half a minute; a blip that clears leaves nothing behind."</p>
                <ul>
                    {unconfirmed.into_iter().map(|b| view! {
                        <li><strong>{b.component.clone()}</strong>": " {b.reason.clone()}</li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        {(!pulls.is_empty()).then(|| view! {
            <section class="card" data-testid="active-operations">
                <h2>"In progress"</h2>
                <ul>{pulls.into_iter().map(|op| view! { <li><OperationLine op/></li> }).collect_view()}</ul>
            </section>
        })}
    }
}

#[component]
fn OperationLine(op: Operation) -> impl IntoView {
    let what = match op.kind {
        OperationKind::ImagePull => "Downloading image",
        OperationKind::Reconciliation => "Installing",
        OperationKind::Job => "Running",
        OperationKind::Waiting => "Waiting",
    };
    let size = op
        .size_bytes
        .map(|s| format!(" (about {})", format::bytes(s)));
    view! {
        {what} " " <code>{op.target.clone()}</code> {size}
        " for " {format::duration(op.elapsed_seconds)}
        <span class="muted">" — " {op.message.clone()}</span>
    }
}

fn go_to_login() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign("/login");
    }
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

fn check_icon(state: CheckState) -> &'static str {
    match state {
        CheckState::Ok => "✔",
        CheckState::Pending => "…",
        CheckState::Failed => "✖",
        CheckState::NotApplicable => "–",
    }
}

/// Support's view: every check, blocker, component and event.
#[component]
fn Diagnostics(doc: StatusDocument, event_filter: RwSignal<String>) -> impl IntoView {
    let tiers = Tier::ALL.map(|t| (t, doc.tiers.get(t).clone()));
    let blockers = doc.top_blockers.clone();
    let components = doc.components.clone();
    let events = doc.recent_events.clone();
    let operations = doc.active_operations.clone();
    let release = doc.release.clone();
    let flux = doc.flux.clone();
    let bootstrap = doc.bootstrap.clone();
    let probes = doc.source.probes.clone();
    let watches = doc.source.watches.clone();
    let timeline = doc.timeline.clone();
    let source = format!(
        "{} {}",
        match doc.source.mode {
            SourceMode::Live => "Live cluster",
            SourceMode::Scenario => "Scenario",
        },
        doc.source.name.clone().unwrap_or_default()
    );

    view! {
        <section class="card" data-testid="release">
            <h2>"Release"</h2>
            <dl class="facts">
                <dt>"Release"</dt><dd>{release.selected_release_version.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"App version"</dt><dd>{release.app_version.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Channel"</dt><dd>{release.channel.unwrap_or_else(|| "unknown".into())}</dd>
                <dt>"Git revision"</dt><dd><code>{release.git_revision.unwrap_or_else(|| "unknown".into())}</code></dd>
                <dt>"Source"</dt><dd>{source}</dd>
                <dt>"Document time"</dt><dd><code>{doc.timestamp.to_string()}</code></dd>
                <dt>"Image check"</dt><dd data-testid="image-check">{release.image_check.unwrap_or_else(|| "not run (no live release selection)".into())}</dd>
            </dl>
            {(!release.images.is_empty()).then(|| view! {
                <ul class="images" data-testid="release-images">
                    {release.images.into_iter().map(|i| view! {
                        <li data-outcome=i.outcome.clone()>
                            {if i.outcome == "present" { "✔ " } else if i.outcome == "unreachable" { "… " } else { "✖ " }}
                            <code>{i.reference}</code> " (" {i.component} "): " {i.detail}
                            <span class="muted">" — checked " <code>{i.checked_at.to_string()}</code></span>
                        </li>
                    }).collect_view()}
                </ul>
            })}
            <p class="actions">
                <a class="button" download="appliance-status.json" href="/api/status" data-testid="download-json">"Download status JSON"</a>
                " "
                <a class="button" download href="/api/support-bundle" data-testid="download-bundle">"Download support bundle"</a>
            </p>
            <p class="muted">"The support bundle holds the objects the service sees, events, log excerpts and node facts, with credentials removed; "
                <code>"appliance-status assess FILE"</code>" replays it."</p>
        </section>
        <TimelineCard timeline/>
        <section class="card" data-testid="tiers">
            <h2>"Readiness tiers"</h2>
            {tiers.into_iter().map(|(tier, status)| {
                let (icon, class) = tier_icon(&status);
                view! {
                    <details class=format!("tier {class}") open=!status.ready>
                        <summary><span aria-hidden="true">{icon}</span> " " <code>{tier.readiness_name()}</code>
                            " " {if status.ready { "ready" } else { "not ready" }}</summary>
                        <ul class="checks">
                            {status.checks.into_iter().map(|c| view! {
                                <li class=format!("check {}", c.state.as_str())>
                                    <span aria-hidden="true">{check_icon(c.state)}</span> " "
                                    {c.description} " "
                                    <span class="visually-hidden">"(" {c.state.as_str()} ")"</span>
                                    {c.detail.map(|d| view! { <span class="muted">" — " {d}</span> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    </details>
                }
            }).collect_view()}
        </section>
        <section class="card" data-testid="blockers">
            <h2>"Blockers (" {blockers.len()} ")"</h2>
            {blockers.is_empty().then(|| view! { <p>"No blockers."</p> })}
            <ol class="blockers">
                {blockers.into_iter().map(|b| view! {
                    <li class="blocker" data-component=b.component.clone()>
                        <p><strong>{b.component.clone()}</strong> " · " {b.layer.as_str()}
                           " · " {b.severity.as_str()}
                           " · " {if b.login_blocking { "blocks login" } else { "does not block login" }}
                           " · since " <code>{b.since.to_string()}</code></p>
                        <p>{b.reason.clone()}</p>
                        <p><strong>"Next action: "</strong>{b.next_action.clone()}</p>
                        <details><summary>"Evidence (" {b.evidence.len()} ")"</summary>
                            <ul>{b.evidence.into_iter().map(|e| view! {
                                <li><code>{e.kind} "/" {e.namespace.unwrap_or_default()} "/" {e.name}</code>
                                    " " {e.reason.unwrap_or_default()} ": " <q>{e.message}</q></li>
                            }).collect_view()}</ul>
                        </details>
                    </li>
                }).collect_view()}
            </ol>
        </section>
        <section class="card" data-testid="components">
            <h2>"Components"</h2>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Components table"><table>
                <thead><tr><th>"Component"</th><th>"Tier"</th><th>"Status"</th><th>"Ready"</th><th>"Restarts"</th><th>"Images"</th><th>"Message"</th></tr></thead>
                <tbody>{components.into_iter().map(|c| {
                    let row_name = c.name.clone();
                    view! {
                    <tr data-component=row_name>
                        <td>{c.name}</td><td>{c.tier.as_str()}</td>
                        <td>{c.status.as_str()}</td>
                        <td>{c.ready} "/" {c.desired}</td><td>{c.restarts}</td>
                        <td>{c.images.join(", ")}</td><td>{c.message}</td>
                    </tr>
                }}).collect_view()}</tbody>
            </table></div>
        </section>
        <section class="card" data-testid="flux">
            <h2>"Flux and Helm releases"</h2>
            {flux.is_empty().then(|| view! { <p>"No Flux object seen (yet)."</p> })}
            <div class="table-wrap" tabindex="0" role="region" aria-label="Flux objects table"><table>
                <thead><tr><th>"Object"</th><th>"Ready"</th><th>"Reason"</th><th>"Message"</th></tr></thead>
                <tbody>{flux.into_iter().map(|f| {
                    let ready = match f.ready { Some(true) => "✔ yes", Some(false) => "✖ no", None => "… in progress" };
                    view! {
                        <tr><td><code>{f.kind} "/" {f.namespace} "/" {f.name}</code></td><td>{ready}</td>
                            <td>{f.reason}</td><td>{f.message}</td></tr>
                    }
                }).collect_view()}</tbody>
            </table></div>
        </section>
        <section class="card" data-testid="bootstrap">
            <h2>"Database bootstrap"</h2>
            {match bootstrap {
                Some(b) => Either::Left(view! {
                    <p>"State: " <strong>{b.state}</strong>
                        {b.job.map(|j| view! { " (" <code>{j}</code> ")" })}
                        {b.completed_at.map(|t| view! { ", completed " <code>{t.to_string()}</code> })}</p>
                    {(!b.log_excerpt.is_empty()).then(|| view! { <pre class="log">{b.log_excerpt.join("\n")}</pre> })}
                }),
                None => Either::Right(view! { <p>"No bootstrap job in the catalog."</p> }),
            }}
        </section>
        <section class="card" data-testid="operations">
            <h2>"Image pulls and reconciliations"</h2>
            {operations.is_empty().then(|| view! { <p>"Nothing in progress."</p> })}
            <ul>{operations.into_iter().map(|op| view! { <li><OperationLine op/></li> }).collect_view()}</ul>
        </section>
        <section class="card" data-testid="collector">
            <h2>"What the service measures"</h2>
            {probes.is_empty().then(|| view! { <p>"No probe has run."</p> })}
            <ul>{probes.into_iter().map(|p| view! {
                <li>{if p.ok { "✅ " } else { "❌ " }}<code>{p.name}</code>": "{p.value}</li>
            }).collect_view()}</ul>
            {(!watches.is_empty()).then(|| view! {
                <p>"Watches: "{watches.into_iter().map(|w| match w.objects {
                    Some(n) => format!("{} {} ({n})", w.kind, w.state.label()),
                    None => format!("{} {}", w.kind, w.state.label()),
                }).collect::<Vec<_>>().join(", ")}</p>
            })}
        </section>
        <section class="card" data-testid="events">
            <h2>"Recent events"</h2>
            <label>"Filter " <input type="search" prop:value=move || event_filter.get()
                on:input=move |ev| event_filter.set(event_target_value(&ev))
                data-testid="event-filter"/></label>
            <div class="table-wrap" tabindex="0" role="region" aria-label="Events table"><table>
                <thead><tr><th>"Type"</th><th>"Reason"</th><th>"Object"</th><th>"Message"</th><th>"Count"</th></tr></thead>
                <tbody>{events.into_iter().map(|e| {
                    // ASCII case folding: the events' words are ASCII, and Unicode case tables would weigh on the wasm.
                    let haystack = format!("{} {} {} {}", e.event_type, e.reason, e.object, e.message).to_ascii_lowercase();
                    let visible = move || {
                        let needle = event_filter.get().to_ascii_lowercase();
                        needle.is_empty() || haystack.contains(&needle)
                    };
                    let row_class = e.event_type.to_ascii_lowercase();
                    view! {
                        <tr class:hidden=move || !visible() class=row_class>
                            <td>{e.event_type}</td><td>{e.reason}</td><td><code>{e.object}</code></td>
                            <td>{e.message}</td><td>{e.count}</td>
                        </tr>
                    }
                }).collect_view()}</tbody>
            </table></div>
        </section>
    }
}

/// The bootstrap over time: tiers' moments on the first row, then one row per pull, Job, Helm
/// action and problem; each says its times on hover and in the list under the drawing.
#[component]
fn TimelineCard(timeline: Timeline) -> impl IntoView {
    let story = timeline.login_story();
    let started = timeline.started.as_ref().map(|t| t.to_string());
    let chart = crate::chart::chart(&timeline);
    let spans = timeline.spans.clone();
    view! {
        <section class="card" data-testid="timeline">
            <h2>"Timeline"</h2>
            {match (started, chart) {
                (Some(started), Some(c)) => Either::Left(view! {
                    <p class="muted">"From " <code>{started}</code> ", when the install began as the cluster tells it, to this document: "
                        {crate::format::duration(timeline.elapsed_seconds)} ". Times are the ones the cluster wrote (a problem it gives no time for: when this service first saw it)."</p>
                    {story.map(|s| view! { <p data-testid="login-story"><strong>"How it went: "</strong>{s}</p> })}
                    <div class="timeline-wrap">
                    <svg class="timeline" role="img" aria-label="Timeline of the bootstrap: tiers, pulls, Jobs, Helm actions and problems"
                        viewBox=format!("0 0 {} {}", crate::chart::WIDTH, c.height)
                        width=crate::chart::WIDTH height=c.height>
                        {c.ticks.into_iter().map(|t| view! {
                            <line class="tick" x1=t.x x2=t.x y1=crate::chart::TOP - 6 y2=c.height/>
                            <text class="tick" x=t.x y=12>{t.label}</text>
                        }).collect_view()}
                        <text class="row-label" x=4 y=crate::chart::TOP + 14>"tiers"</text>
                        {c.markers.into_iter().map(|m| view! {
                            <g class=format!("marker {}", m.class)>
                                <title>{m.title}</title>
                                <rect x=m.x.saturating_sub(4) y=crate::chart::TOP + 2 width=8 height=14/>
                            </g>
                        }).collect_view()}
                        {c.bars.into_iter().map(|b| view! {
                            <g class=format!("bar {}", b.class)>
                                <title>{b.title}</title>
                                <text class="row-label" x=4 y=b.y + 14>{b.label}</text>
                                <rect x=b.x y=b.y + 4 width=b.width height=12 rx=2/>
                            </g>
                        }).collect_view()}
                    </svg>
                    </div>
                    <details><summary>"As a list (" {spans.len()} ")"</summary>
                        <ul class="spans" data-testid="timeline-spans">
                            {spans.into_iter().map(|s| {
                                let end = s.end_or(timeline.elapsed_seconds);
                                view! {
                                    <li data-kind=s.kind.as_str() data-state=s.state.as_str()>
                                        <code>{s.label}</code> " — " {s.state.as_str()} ", from "
                                        {crate::format::duration(s.start_seconds)} " after the start, "
                                        {crate::format::duration(end - s.start_seconds)}
                                        {(!s.detail.is_empty()).then(|| view! { <span class="muted">" — " {s.detail}</span> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </details>
                }),
                _ => Either::Right(view! { <p>"Nothing to draw yet: the cluster has not said when the install began."</p> }),
            }}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::Tab;

    #[test]
    fn the_tab_comes_from_the_query() {
        assert_eq!(Tab::from_query(""), Tab::Overview);
        assert_eq!(Tab::from_query("tab=diagnostics"), Tab::Diagnostics);
        assert_eq!(Tab::from_query("x=1&tab=diagnostics"), Tab::Diagnostics);
        assert_eq!(Tab::from_query("tab=diagnosticsx"), Tab::Overview);
        assert_eq!(Tab::from_query("tab=overview"), Tab::Overview);
        assert_eq!(
            Tab::from_query(Tab::Diagnostics.href().split_once('?').unwrap().1),
            Tab::Diagnostics
        );
    }
}
