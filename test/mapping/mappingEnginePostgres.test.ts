/** Dynamic task mapping through the engine on PostgreSQL (the suite is in engineSuite.ts). */
import { describeMappingEngine } from './engineSuite.ts';

describeMappingEngine('postgres');
