import { setInstancePortRange } from './env';
import { claimTestPorts, formatPortRange } from './ports';

/**
 * A vitest setup file (`setupFiles: ['@coffer/testing/setup-ports']`): before the test file
 * loads, its process holds a block of ports of its own (ports.ts), and
 * COFFER_INSTANCE_PORT_RANGE names the block's instance ports, so a worker or provider the file
 * starts without a range of its own never lands on another file's ports.
 */
const ports = await claimTestPorts();
setInstancePortRange(formatPortRange(ports.instances));
