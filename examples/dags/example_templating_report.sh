# A template file: rendered with the task's context, then run by the BashOperator of example_templating.
echo "report for {{ ds }} (run {{ run_id }}, try {{ ti.try_number }})"
echo "target {{ params.target | shout }}, previous successful interval: {{ prev_data_interval_start_success or 'none' }}"
echo "a week later: {{ macros.ds_add(ds, 7) }}; as US date: {{ macros.ds_format(ds, '%Y-%m-%d', '%m/%d/%Y') }}"
