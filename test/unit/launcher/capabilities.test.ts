import test from 'ava';
import { capabilitiesOfMask, capabilityMask, DEFAULT_CAPABILITIES, normalizeCapability, resolveCapabilities, ALL_CAPABILITIES } from '../../../src/launcher/capabilities.js';
import { noNewPrivileges, processCapabilities, processLimitsConfig, securityConfig } from '../../../src/launcher/isolation-config.js';
import { validateSpec } from '../../../src/launcher/spec.js';

test('the default set is Docker\'s: CapEff 00000000a80425fb', (t) => {
  t.is(capabilityMask(DEFAULT_CAPABILITIES), 'a80425fb');
  t.deepEqual(capabilitiesOfMask('a80425fb'), [...DEFAULT_CAPABILITIES].sort((a, b) => ALL_CAPABILITIES.indexOf(a) - ALL_CAPABILITIES.indexOf(b)));
});

test('names are accepted with or without CAP_, in any case; unknown ones are not', (t) => {
  t.is(normalizeCapability('cap_net_admin'), 'NET_ADMIN');
  t.is(normalizeCapability('SYS_TIME'), 'SYS_TIME');
  t.is(normalizeCapability('all'), 'ALL');
  t.is(normalizeCapability('NET_ADMN'), null);
  t.is(normalizeCapability('CAP_'), null);
});

test('drops apply before adds, the container before the process', (t) => {
  t.deepEqual(resolveCapabilities(false, [{ drop: ['ALL'], add: ['KILL'] }]), ['KILL']);
  t.deepEqual(resolveCapabilities(false, [{ drop: ['ALL'], add: [] }, { drop: [], add: ['NET_RAW'] }]), ['NET_RAW']);
  t.deepEqual(resolveCapabilities(false, [{ add: ['BPF'], drop: [] }, { drop: ['BPF'], add: [] }]), [...resolveCapabilities(false, [])]);
  t.deepEqual(resolveCapabilities(true, []), ALL_CAPABILITIES);
  t.is(capabilityMask(['CHECKPOINT_RESTORE']), '10000000000');
});

test('a process\'s set and no_new_privs come from defaults, container and process, in that order', (t) => {
  const spec = validateSpec({
    name: 'c',
    security: { capabilities: { add: ['NET_ADMIN'] } },
    processes: [
      { name: 'a', command: ['x'] },
      { name: 'b', command: ['x'], security: { capabilities: { drop: ['NET_ADMIN', 'CHOWN'] }, noNewPrivileges: false } },
    ],
  });
  t.true(processCapabilities(spec, spec.processes[0]).includes('NET_ADMIN'));
  t.false(processCapabilities(spec, spec.processes[1]).includes('NET_ADMIN'));
  t.false(processCapabilities(spec, spec.processes[1]).includes('CHOWN'));
  t.true(noNewPrivileges(spec, spec.processes[0]));
  t.false(noNewPrivileges(spec, spec.processes[1]));
  t.deepEqual(securityConfig(spec, null), [['caps', capabilityMask([...DEFAULT_CAPABILITIES, 'NET_ADMIN'])], ['no_new_privs', '1']]);
  const priv = validateSpec({ name: 'p', privileged: true, processes: [{ name: 'a', command: ['x'] }] });
  t.false(noNewPrivileges(priv, null), 'privileged turns no_new_privs off unless asked');
  const privNnp = validateSpec({ name: 'p', privileged: true, security: { noNewPrivileges: true }, processes: [{ name: 'a', command: ['x'] }] });
  t.true(noNewPrivileges(privNnp, null));
});

test('rlimits, groups and umask become helper keys', (t) => {
  const spec = validateSpec({ name: 'c', processes: [{ name: 'a', command: ['x'], rlimits: { nofile: { soft: 10, hard: 'unlimited' } }, groups: [5], umask: '0077' }] });
  t.deepEqual(processLimitsConfig(spec.processes[0]), [['rlimit', 'nofile:10:unlimited'], ['group', '5'], ['umask', '0077']]);
});
