/** Sensors: wait for a condition by poking, rescheduling, or deferring to the triggerer. */
export { BaseSensorOperator, PokeReturnValue, type SensorMode, type SensorOptions } from './base.ts';
export { FileSensor, type FileSensorOptions } from './file.ts';
export { HttpSensor, type HttpSensorOptions } from './http.ts';
export { DateTimeSensor, TimeDeltaSensor, type DateTimeSensorOptions, type TimeDeltaSensorOptions } from './time.ts';
export { FunctionSensor, type FunctionSensorOptions } from './function.ts';
