/** Every tool, in the order tools/list shows them. Docs, snapshots and filters are derived from this list. */
import type { AnyTool } from './define.js';
import { approveInApp } from './approve_in_app.js';
import { createVm } from './create_vm.js';
import { deleteVm } from './delete_vm.js';
import { extendLease } from './extend_lease.js';
import { getConsole } from './get_console.js';
import { getInstance } from './get_instance.js';
import { listImages } from './list_images.js';
import { listInstanceTypes } from './list_instance_types.js';
import { listInstances } from './list_instances.js';
import { listProviders } from './list_providers.js';
import { listSnapshots } from './list_snapshots.js';
import { pauseInstances } from './pause_instances.js';
import { resumeInstances } from './resume_instances.js';
import { snapshot } from './snapshot.js';
import { waitForInstance } from './wait_for_instance.js';

export const ALL_TOOLS: AnyTool[] = [
  listProviders,
  listInstanceTypes,
  listImages,
  listInstances,
  getInstance,
  createVm,
  extendLease,
  waitForInstance,
  getConsole,
  pauseInstances,
  resumeInstances,
  snapshot,
  listSnapshots,
  deleteVm,
  approveInApp,
];
