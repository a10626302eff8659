/**
 * Lint rule `capstan/no-state-writes`: `task_instance.state` and `dag_run.state` change only through the
 * verbs of src/store/transitions/, which guard every move by the transition table and record its history.
 * Reported anywhere else: a Kysely `.updateTable('task_instance' | 'dag_run')` chain whose `.set(…)`
 * names `state` or passes something the rule cannot read (a variable, a spread, a callback), and raw
 * SQL that updates either table's state.
 */
const TABLES = new Set(['task_instance', 'dag_run']);
const RAW_UPDATE = /\bupdate\s+(task_instance|dag_run)\b[\s\S]*\bstate\s*=/i;

/** The `.set(…)` call of the chain that starts at `updateTable(...)`, if any. */
function setCallOf(updateCall) {
  let node = updateCall;
  while (node.parent && node.parent.type === 'MemberExpression' && node.parent.object === node && node.parent.parent && node.parent.parent.type === 'CallExpression') {
    const call = node.parent.parent;
    if (node.parent.property.type === 'Identifier' && node.parent.property.name === 'set') return call;
    node = call;
  }
  return undefined;
}

/** Why `.set(arg)` may write the state column, or null when it certainly does not. */
function stateWrite(arg) {
  if (!arg) return null;
  while (arg.type === 'TSAsExpression' || arg.type === 'TSSatisfiesExpression' || arg.type === 'TSNonNullExpression') arg = arg.expression;
  if (arg.type !== 'ObjectExpression') return 'sets columns the rule cannot read (not an object literal)';
  for (const p of arg.properties) {
    if (p.type === 'SpreadElement') return 'spreads columns into .set(), which may include state';
    const key = p.key.type === 'Identifier' ? p.key.name : p.key.type === 'Literal' ? String(p.key.value) : null;
    if (key === null || p.computed) return 'sets a computed column';
    if (key === 'state') return 'sets state';
  }
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'task_instance.state and dag_run.state change only through src/store/transitions/' },
    messages: {
      kysely: "{{table}}: this update {{why}}; move states through the verbs of src/store/transitions/ (they check the transition table and record history)",
      raw: 'raw SQL updates {{table}}.state; move states through the verbs of src/store/transitions/',
    },
    schema: [],
  },
  create(context) {
    return {
      CallExpression(node) {
        const callee = node.callee;
        if (callee.type !== 'MemberExpression' || callee.property.type !== 'Identifier' || callee.property.name !== 'updateTable') return;
        const table = node.arguments[0];
        if (!table || table.type !== 'Literal' || !TABLES.has(String(table.value))) return;
        const set = setCallOf(node);
        const why = set ? stateWrite(set.arguments[0]) : null;
        if (why) context.report({ node: set, messageId: 'kysely', data: { table: String(table.value), why } });
      },
      TaggedTemplateExpression(node) {
        const text = node.quasi.quasis.map((q) => q.value.raw).join(' ');
        const m = RAW_UPDATE.exec(text);
        if (m) context.report({ node, messageId: 'raw', data: { table: m[1] } });
      },
    };
  },
};
