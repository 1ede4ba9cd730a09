/**
 * The one table of clouds: every cloud this version knows, in the order they are listed. A built cloud is its folder's
 * module value; a planned one is what it will need. Adding a cloud is one folder and one line here.
 */
import type { CloudModule, PlannedCloud } from './cloud.js';
import { genesiscloud } from './genesiscloud/index.js';
import { instavm } from './instavm/index.js';
import { k0rdent } from './k0rdent/index.js';
import { mithril } from './mithril/index.js';
import { onet } from './onet/index.js';

export const CLOUDS: readonly (CloudModule | PlannedCloud)[] = [genesiscloud, mithril, onet, k0rdent, instavm];

export const isBuilt = (c: CloudModule | PlannedCloud): c is CloudModule => !('planned' in c);
export const BUILT_CLOUDS: readonly CloudModule[] = CLOUDS.filter(isBuilt);
/** Every cloud id, for input validation; a tuple so zod can make an enum of it. */
export const CLOUD_IDS = CLOUDS.map((c) => c.id) as [string, ...string[]];
