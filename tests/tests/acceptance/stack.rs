//! The rendered stack (`scripts/render-template.sh`): every function, queue and polled source
//! is watched by an alarm that tells the ops topic, and every asynchronously invoked function
//! keeps what it could not handle.

use crate::support::template::Template;
use serde_json::{Value, json};

fn alarms(t: &Template) -> Vec<(String, Value)> {
    t.of_type("AWS::CloudWatch::Alarm")
        .into_iter()
        .map(|(id, r)| (id.clone(), r["Properties"].clone()))
        .collect()
}

fn watching(t: &Template, metric: &str, dimension: &str, target: &Value) -> Vec<String> {
    alarms(t)
        .into_iter()
        .filter(|(_, p)| {
            p["MetricName"] == metric
                && p["Dimensions"].as_array().is_some_and(|d| {
                    d.iter()
                        .any(|d| d["Name"] == dimension && &d["Value"] == target)
                })
        })
        .map(|(id, _)| id)
        .collect()
}

#[test]
#[ignore = "needs the rendered template: run scripts/test.sh"]
fn every_function_has_errors_and_throttles_alarms() {
    let t = Template::load();
    let functions = t.of_type("AWS::Lambda::Function");
    assert_eq!(functions.len(), 6);
    for (id, _) in functions {
        for metric in ["Errors", "Throttles"] {
            let found = watching(&t, metric, "FunctionName", &json!({ "Ref": id }));
            assert_eq!(found.len(), 1, "{id}: one {metric} alarm, found {found:?}");
        }
    }
}

#[test]
#[ignore = "needs the rendered template: run scripts/test.sh"]
fn every_queue_has_a_dead_letter_queue_with_a_depth_alarm() {
    let t = Template::load();
    let queues = t.of_type("AWS::SQS::Queue");
    let dlqs: Vec<String> = queues
        .iter()
        .filter_map(|(_, q)| {
            q["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]["Fn::GetAtt"][0].as_str()
        })
        .map(String::from)
        .collect();
    for (id, q) in &queues {
        assert!(
            dlqs.contains(id) || q["Properties"].get("RedrivePolicy").is_some(),
            "{id} is neither a DLQ nor has one"
        );
    }
    assert_eq!(dlqs.len(), 2);
    for dlq in dlqs {
        let target = json!({ "Fn::GetAtt": [dlq, "QueueName"] });
        let found = watching(
            &t,
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            &target,
        );
        assert_eq!(found.len(), 1, "{dlq}: one depth alarm, found {found:?}");
    }
}

#[test]
#[ignore = "needs the rendered template: run scripts/test.sh"]
fn the_poll_lag_alarm_fires_after_three_intervals_and_every_alarm_tells_the_ops_topic() {
    let t = Template::load();
    let lag: Vec<Value> = alarms(&t)
        .into_iter()
        .filter(|(_, p)| p["Namespace"] == "opsbell" && p["MetricName"] == "PollLagSeconds")
        .map(|(_, p)| p)
        .collect();
    assert_eq!(lag.len(), 1);
    assert_eq!(lag[0]["Statistic"], "Maximum");
    assert!(
        lag[0].get("Dimensions").is_none(),
        "the across-sources metric"
    );
    // The schedule is rate(5 minutes): three intervals.
    assert_eq!(lag[0]["Threshold"], 900);
    for (id, p) in alarms(&t) {
        assert_eq!(p["AlarmActions"], json!([{ "Ref": "OpsTopic" }]), "{id}");
    }
}

#[test]
#[ignore = "needs the rendered template: run scripts/test.sh"]
fn every_sns_triggered_function_keeps_its_failures_in_a_redrivable_queue() {
    let t = Template::load();
    for (_, sub) in t.of_type("AWS::SNS::Subscription") {
        let function = sub["Properties"]["Endpoint"]["Fn::GetAtt"][0]
            .as_str()
            .unwrap();
        let config = t
            .of_type("AWS::Lambda::EventInvokeConfig")
            .into_iter()
            .find(|(_, c)| c["Properties"]["FunctionName"]["Ref"] == function)
            .unwrap_or_else(|| panic!("{function} has no failure destination"));
        let dest = &config.1["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"]
            [0];
        let dest = dest.as_str().unwrap();
        assert!(
            t.resource(dest)["Type"] == "AWS::SQS::Queue",
            "{function}'s failures go to a queue ({dest})"
        );
    }
}
