/**
 * The helper configuration for an OCI bundle's layout (oci-bundle.ts): its
 * mounts in order, its masked and read-only paths, a read-only root, and the
 * namespaces it asks for. Pure. A `cgroup` mount becomes the container's own
 * cgroup: a cgroup2 mount in its cgroup namespace, or without one a read-only
 * bind of its v2 directory (what runc shows as the container's cgroup too).
 */
import type { ContainerCgroups } from './cgroups.js';
import type { HelperConfig } from './helper.js';
import type { OciLayout } from './oci-bundle.js';
import type { LayoutMount } from './oci-mounts.js';

function mountConfig(m: LayoutMount): HelperConfig {
  return [
    ['mount_source', m.source],
    ['mount_target', m.destination],
    ['mount_type', m.kind === 'bind' ? 'bind' : m.fstype!],
    ['mount_flags', String(m.flags)],
    ['mount_propagation', String(m.propagation)],
    ['mount_data', m.data],
    ['mount_flat', m.flat ? '1' : '0'],
  ];
}

export function ociLayoutConfig(oci: OciLayout, cgroup: ContainerCgroups): HelperConfig {
  const config: HelperConfig = [
    ['layout', 'explicit'],
    ['rootfs_readonly', oci.rootReadonly ? '1' : '0'],
    ['new_ipc', oci.namespaces.ipc ? '1' : '0'],
    ['new_uts', oci.namespaces.uts ? '1' : '0'],
    ['new_cgroupns', oci.namespaces.cgroup ? '1' : '0'],
  ];
  for (const m of oci.mounts) {
    if (m.kind !== 'cgroup') config.push(...mountConfig(m));
    else if (oci.namespaces.cgroup) config.push(...mountConfig({ ...m, kind: 'filesystem', fstype: 'cgroup2', source: 'cgroup2', data: '' }));
    else config.push(...mountConfig({ ...m, kind: 'bind', source: cgroup.v2, flat: true, data: '' }));
  }
  for (const p of oci.maskedPaths) config.push(['masked_path', p]);
  for (const p of oci.readonlyPaths) config.push(['readonly_path', p]);
  return config;
}
