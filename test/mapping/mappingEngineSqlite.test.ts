/** Dynamic task mapping through the engine on SQLite (the suite is in engineSuite.ts). */
import { describeMappingEngine } from './engineSuite.ts';

describeMappingEngine('sqlite');
