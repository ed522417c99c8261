export * from './docker/executor.js';
export * from './exec-request.js';
export * from './executor.js';
export * from './fake/fake-executor.js';
export * from './faults.js';
export * from './firecracker/firecracker-executor.js';
export * from './qemu/qemu-executor.js';
export * from './vm/rootfs.js';
