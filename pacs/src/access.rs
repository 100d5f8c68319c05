//! Authorization, in one place: which role may do what, and on which
//! studies. Every HTTP route and DIMSE service asks [`allow`] (and, for a
//! study, [`allow_study`]) before acting; nothing else decides.

use pacs_core::workflow::{Role, StudyScope, Workflow};

use crate::auth::{Principal, Via};

/// Everything a caller can ask the archive to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Search studies (QIDO-RS, C-FIND), within the caller's scope.
    Search,
    /// Read one study: metadata, frames, renderings, retrieval.
    ReadStudy,
    /// Store instances (STOW-RS, C-STORE).
    Store,
    /// See the worklist.
    Worklist,
    /// Claim, renew and release reading locks; write, sign and amend
    /// reports; key images; critical findings.
    Report,
    /// Read a study's report and its outputs.
    ReadReport,
    /// Assign studies, break locks.
    Supervise,
    /// Change a study's reading priority.
    SetPriority,
    /// Acknowledge a critical finding.
    Acknowledge,
    /// The referring doctor's list.
    Referrals,
    /// Share a study with an account or by link; de-identified copies.
    Share,
    /// Read and export the audit trail.
    Audit,
    /// Accounts, sites, tokens.
    Administer,
    /// The forwarding queue and its operations.
    Forwarding,
    /// Receive studies from another archive (peer transfer).
    PeerReceive,
}

/// Why a caller is refused: said to them as a 403.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

/// Whether `who` may do `action` at all.
pub fn allow(who: &Principal, action: Action) -> Result<(), Denied> {
    use Action::*;
    use Role::*;
    // Without accounts there is one user, on loopback, who does everything
    // (the demo reads and reports too).
    if who.via == Via::Open {
        return Ok(());
    }
    // A read-only link reads its one study and nothing else.
    if who.via == Via::Share {
        return match action {
            Search | ReadStudy | ReadReport => Ok(()),
            _ => Err(Denied(
                "a shared link is read-only and opens one study".into(),
            )),
        };
    }
    // Acknowledging a critical finding is a person's act: a gateway's
    // machine token relays studies, it does not read results.
    if who.via == Via::Machine && action == Acknowledge {
        return Err(Denied(
            "a site's machine token may not acknowledge a critical finding; a person signs in for that"
                .into(),
        ));
    }
    let allowed = match action {
        Search | ReadStudy | ReadReport => true,
        Store => matches!(who.role, Site | Admin),
        Worklist => matches!(who.role, Site | Radiologist | Admin),
        Report => who.role == Radiologist,
        Supervise => who.role == Admin,
        SetPriority => matches!(who.role, Site | Admin),
        Acknowledge => matches!(who.role, Site | Referrer | Admin),
        Referrals => matches!(who.role, Referrer | Admin),
        Share => matches!(who.role, Radiologist | Admin),
        Audit | Administer | Forwarding => who.role == Admin,
        PeerReceive => matches!(who.role, Site | Admin),
    };
    if allowed {
        Ok(())
    } else {
        Err(Denied(format!(
            "a {} account may not {}",
            who.role.as_str(),
            describe(action)
        )))
    }
}

/// Whether `who` may do `action` on one study: the action, and the study
/// within the caller's scope. A caller limited to some studies is refused
/// alike for one outside them and one that does not exist, so existence
/// is not revealed.
pub async fn allow_study(
    store: &dyn Workflow,
    who: &Principal,
    action: Action,
    study_uid: &str,
) -> Result<Result<(), Denied>, pacs_core::IndexError> {
    if let Err(d) = allow(who, action) {
        return Ok(Err(d));
    }
    if who.scope == StudyScope::All || store.study_visible(&who.scope, study_uid).await? {
        Ok(Ok(()))
    } else {
        Ok(Err(Denied(
            "this study is not one you may see (or it does not exist)".into(),
        )))
    }
}

impl Action {
    /// The audit trail's name for an attempt at `self`, where the route
    /// has no finer one.
    pub fn audit_name(self) -> &'static str {
        match self {
            Action::Search => "search",
            Action::ReadStudy => "study_view",
            Action::Store => "store",
            Action::Worklist => "worklist",
            Action::Report => "report",
            Action::ReadReport => "report_view",
            Action::Supervise => "supervise",
            Action::SetPriority => "priority",
            Action::Acknowledge => "critical_acknowledge",
            Action::Referrals => "referrals",
            Action::Share => "share",
            Action::Audit => "audit_read",
            Action::Administer => "administer",
            Action::Forwarding => "forwarding",
            Action::PeerReceive => "peer_receive",
        }
    }
}

fn describe(action: Action) -> &'static str {
    match action {
        Action::Search => "search studies",
        Action::ReadStudy => "open studies",
        Action::Store => "store studies",
        Action::Worklist => "see the worklist",
        Action::Report => "report studies",
        Action::ReadReport => "read reports",
        Action::Supervise => "assign studies or break reading locks",
        Action::SetPriority => "change reading priorities",
        Action::Acknowledge => "acknowledge critical findings",
        Action::Referrals => "see a referring doctor's studies",
        Action::Share => "share studies",
        Action::Audit => "read the audit trail",
        Action::Administer => "manage accounts, sites and tokens",
        Action::Forwarding => "manage forwarding",
        Action::PeerReceive => "send studies to this archive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(role: Role, via: Via) -> Principal {
        Principal {
            username: Some("u".into()),
            display_name: "U".into(),
            role,
            site: None,
            scope: StudyScope::All,
            via,
            address: None,
        }
    }

    #[test]
    fn only_radiologists_report_and_only_admins_supervise() {
        for role in [Role::Site, Role::Radiologist, Role::Referrer, Role::Admin] {
            let p = who(role, Via::Session);
            assert_eq!(allow(&p, Action::Report).is_ok(), role == Role::Radiologist);
            assert_eq!(allow(&p, Action::Supervise).is_ok(), role == Role::Admin);
            assert_eq!(allow(&p, Action::Audit).is_ok(), role == Role::Admin);
        }
    }

    #[test]
    fn without_accounts_the_one_user_may_do_everything() {
        let p = who(Role::Admin, Via::Open);
        for action in [
            Action::Report,
            Action::Supervise,
            Action::Store,
            Action::Acknowledge,
        ] {
            assert!(allow(&p, action).is_ok(), "{action:?}");
        }
    }

    #[test]
    fn a_shared_link_only_reads() {
        let p = who(Role::Referrer, Via::Share);
        assert!(allow(&p, Action::ReadStudy).is_ok());
        assert!(allow(&p, Action::ReadReport).is_ok());
        assert!(allow(&p, Action::Acknowledge).is_err());
        assert!(allow(&p, Action::Referrals).is_err());
        assert!(allow(&p, Action::Store).is_err());
    }

    #[test]
    fn refusals_say_what_was_refused() {
        let e = allow(&who(Role::Referrer, Via::Session), Action::Store).unwrap_err();
        assert_eq!(e.0, "a referrer account may not store studies");
    }
}
