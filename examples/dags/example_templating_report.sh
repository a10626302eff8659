# A template file: rendered with the task's context, then run by the BashOperator of example_templating.
# A rendered value becomes shell code, so a value that can come from outside (a run id chosen by whoever
# triggered the run, params, conf, XComs) is quoted with `shquote` into a variable first, then used as
# "$variable" — never put a templated value unquoted into a command (docs/templating.md, "How to quote").
run_id={{ run_id | shquote }}
target={{ params.target | shout | shquote }}
previous={{ (prev_data_interval_start_success or 'none') | shquote }}
echo "report for {{ ds }} (run $run_id, try {{ ti.try_number }})"
echo "target $target, previous successful interval: $previous"
echo "a week later: {{ macros.ds_add(ds, 7) }}; as US date: {{ macros.ds_format(ds, '%Y-%m-%d', '%m/%d/%Y') }}"
