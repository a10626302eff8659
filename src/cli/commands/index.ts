/** Every command group, in the order `capstan --help` lists them. */
import type { RegisterCommands } from '../context.ts';
import { registerConfigCommands } from './config.ts';
import { registerDbCommands } from './db.ts';

export const COMMAND_GROUPS: RegisterCommands[] = [registerDbCommands, registerConfigCommands];
