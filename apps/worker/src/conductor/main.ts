// The conductor alone (scale the roles separately: each entry point runs one).
import { runWorkerProcess } from '../process';

void runWorkerProcess(['conductor']);
