//! Exit codes of the command line, one table for every command; each command's `--help` lists
//! only the codes it returns ([`help`]).

pub const REACHED: u8 = 0;
pub const INTERNAL: u8 = 1;
pub const USAGE: u8 = 2;
pub const TIMED_OUT: u8 = 3;
pub const FAILED: u8 = 4;
pub const UNREACHABLE: u8 = 5;
pub const UNAUTHORIZED: u8 = 6;
pub const NO_KUBECONFIG: u8 = 7;
pub const TOKEN_FILE: u8 = 8;
pub const NOT_A_STATUS_SERVICE: u8 = 9;

/// What each code means, for `--help`.
const MEANINGS: [(u8, &str); 10] = [
    (REACHED, "done (for `wait`: the tier is ready)"),
    (INTERNAL, "internal error"),
    (USAGE, "bad usage or input"),
    (
        TIMED_OUT,
        "timed out (the service answered, the tier was not ready in time)",
    ),
    (
        FAILED,
        "failed / action required (the top blocker is printed)",
    ),
    (
        UNREACHABLE,
        "the status service or the Kubernetes API could not be reached",
    ),
    (UNAUTHORIZED, "unauthorized (wrong token, forbidden)"),
    (NO_KUBECONFIG, "no kubeconfig"),
    (
        TOKEN_FILE,
        "the token file is readable by others or owned by someone else",
    ),
    (
        NOT_A_STATUS_SERVICE,
        "the URL answers, but it is not an appliance-status service",
    ),
];

/// "Exit codes: …" for the given codes (their meanings as above), then the examples.
pub fn help(codes: &[u8], examples: &str) -> String {
    let listed: Vec<String> = MEANINGS
        .iter()
        .filter(|(code, _)| codes.contains(code))
        .map(|(code, meaning)| format!("  {code}  {meaning}"))
        .collect();
    format!(
        "Exit codes:\n{}\n\nExamples:\n{examples}",
        listed.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_exactly_the_codes_given() {
        let text = help(
            &[REACHED, NOT_A_STATUS_SERVICE],
            "  appliance-status status",
        );
        assert!(text.contains("  0  done"), "{text}");
        assert!(text.contains("  9  the URL answers"), "{text}");
        assert!(!text.contains("  5  "), "{text}");
        assert!(text.ends_with("  appliance-status status"));
    }
}
