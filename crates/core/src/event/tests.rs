use super::*;

#[test]
fn state_names_round_trip() {
    for state in State::ALL {
        assert_eq!(State::parse(state.as_str()), Some(state));
    }
    assert_eq!(State::parse("Successful"), Some(State::Successful));
    assert_eq!(State::parse("ALARM"), Some(State::Alarm));
    assert_eq!(State::parse("exploded"), None);
}

#[test]
fn event_key_is_lowercase_and_stable() {
    let key = EventKey::new(Source::Uipath, "", "9CC6C2E4-237D", State::Faulted);
    assert_eq!(key.as_str(), "uipath::9cc6c2e4-237d:faulted");
}
