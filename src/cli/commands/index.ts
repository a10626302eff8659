/** Every command group, in the order `capstan --help` lists them. */
import type { RegisterCommands } from '../context.ts';
import { registerConfigCommands } from './config.ts';
import { registerConnectionCommands } from './connections.ts';
import { registerDagCommands } from './dags.ts';
import { registerDbCommands } from './db.ts';
import { registerKubernetesCommands } from './kubernetes.ts';
import { registerPoolCommands } from './pools.ts';
import { registerRenderCommand } from './render.ts';
import { registerRoleCommands } from './roles.ts';
import { registerTaskCommands } from './tasks.ts';
import { registerUserCommands } from './users.ts';
import { registerVariableCommands } from './variables.ts';

export const COMMAND_GROUPS: RegisterCommands[] = [
  registerRoleCommands,
  registerDagCommands,
  registerTaskCommands,
  registerKubernetesCommands,
  registerRenderCommand,
  registerDbCommands,
  registerConfigCommands,
  registerVariableCommands,
  registerConnectionCommands,
  registerPoolCommands,
  registerUserCommands,
];
