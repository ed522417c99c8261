/**
 * The parts of Firecracker's REST API (api_server/swagger/firecracker.yaml upstream) that the
 * executor uses, typed after the schema so that a misspelt field fails to compile instead of being
 * answered with a 400 at boot. Only the fields we send are listed; the schema has more.
 */

/** PUT /machine-config */
export interface MachineConfiguration {
  /** 1 to 32; Firecracker rejects odd counts above 1 when SMT is on. */
  vcpu_count: number;
  mem_size_mib: number;
  smt?: boolean;
  track_dirty_pages?: boolean;
}

/** PUT /boot-source */
export interface BootSource {
  /** Host path of an uncompressed ELF kernel (x86_64). */
  kernel_image_path: string;
  boot_args?: string;
  initrd_path?: string;
}

/** PUT /drives/{drive_id}; the body's drive_id must equal the path's. */
export interface Drive {
  drive_id: string;
  path_on_host: string;
  is_root_device: boolean;
  is_read_only: boolean;
  /** "Unsafe" (default) or "Writeback". */
  cache_type?: 'Unsafe' | 'Writeback';
  /** "Sync" (default) or "Async" (io_uring). */
  io_engine?: 'Sync' | 'Async';
}

/** PUT /vsock */
export interface Vsock {
  /** The guest's context id; 3 or more (0-2 are reserved). */
  guest_cid: number;
  /** Host Unix socket Firecracker listens on; guest-initiated connections go to `<uds_path>_<port>`. */
  uds_path: string;
}

/** PUT /logger */
export interface LoggerConfig {
  log_path: string;
  level?: 'Error' | 'Warning' | 'Info' | 'Debug' | 'Trace' | 'Off';
  show_level?: boolean;
  show_log_origin?: boolean;
}

/** PUT /actions */
export interface InstanceActionInfo {
  /** SendCtrlAltDel needs an i8042 driver in the guest; our kernel has none, so we use the agent. */
  action_type: 'InstanceStart' | 'SendCtrlAltDel' | 'FlushMetrics';
}

/** GET / */
export interface InstanceInfo {
  app_name: string;
  id: string;
  state: 'Not started' | 'Running' | 'Paused';
  vmm_version: string;
}

/** Body of every 4xx/5xx answer. */
export interface ApiError {
  fault_message: string;
}

/** PATCH /vm: pausing is required before PUT /snapshot/create. */
export interface VmState {
  state: 'Paused' | 'Resumed';
}

/** PUT /snapshot/create (VM must be Paused). Paths are as Firecracker sees them (in the jail). */
export interface SnapshotCreateParams {
  /** "Full" writes all guest memory; "Diff" needs track_dirty_pages and a base to merge onto. */
  snapshot_type?: 'Full' | 'Diff';
  snapshot_path: string;
  mem_file_path: string;
}

/**
 * PUT /snapshot/load: only allowed on a fresh Firecracker that has not been configured (logger and
 * metrics aside). `mem_backend` replaced `mem_file_path` in 1.1; `vsock_override` exists from 1.16
 * on and is not sent, because the executor keeps the saved uds_path valid per VM instead (a path
 * relative to each VM's working directory, or the jail root).
 */
export interface SnapshotLoadParams {
  snapshot_path: string;
  mem_backend: { backend_type: 'File' | 'Uffd'; backend_path: string };
  resume_vm?: boolean;
  track_dirty_pages?: boolean;
  vsock_override?: { uds_path: string };
}
