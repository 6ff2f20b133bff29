import test from 'ava';
import { dependenciesOf, dependentsOf, findCycle, startOrder, type DependencyNode } from '../../../src/policy/dependencies.js';

const n = (name: string, ...dependsOn: string[]): DependencyNode => ({ name, dependsOn });

test('no dependencies: the spec order', (t) => {
  t.deepEqual(startOrder([n('a'), n('b'), n('c')]), ['a', 'b', 'c']);
});

test('a dependency listed later starts first; ties keep the spec order', (t) => {
  t.deepEqual(startOrder([n('web', 'db', 'cache'), n('worker', 'db'), n('cache'), n('db')]), ['cache', 'db', 'web', 'worker']);
});

test('a chain starts from its root', (t) => {
  t.deepEqual(startOrder([n('c', 'b'), n('b', 'a'), n('a')]), ['a', 'b', 'c']);
});

test('a cycle has no start order', (t) => {
  t.throws(() => startOrder([n('a', 'b'), n('b', 'a')]), { message: /dependency cycle among a, b/ });
});

test('findCycle names the loop, closed', (t) => {
  t.is(findCycle([n('a'), n('b', 'a')]), null);
  t.deepEqual(findCycle([n('a', 'b'), n('b', 'c'), n('c', 'a')]), ['a', 'b', 'c', 'a']);
  t.deepEqual(findCycle([n('x'), n('a', 'x', 'b'), n('b', 'a')]), ['a', 'b', 'a']);
  t.deepEqual(findCycle([n('a', 'a')]), ['a', 'a']);
});

test('dependents: direct and transitive, in start order, not the process itself', (t) => {
  const nodes = [n('web', 'api'), n('api', 'db'), n('db'), n('cron'), n('report', 'db', 'cron')];
  t.deepEqual(dependentsOf(nodes, 'db'), ['api', 'web', 'report']);
  t.deepEqual(dependentsOf(nodes, 'api'), ['web']);
  t.deepEqual(dependentsOf(nodes, 'web'), []);
  t.deepEqual(dependentsOf(nodes, 'cron'), ['report']);
});

test('a diamond restarts its bottom once, after both sides', (t) => {
  const nodes = [n('top'), n('left', 'top'), n('right', 'top'), n('bottom', 'left', 'right')];
  t.deepEqual(dependentsOf(nodes, 'top'), ['left', 'right', 'bottom']);
});

test('dependenciesOf: the direct ones', (t) => {
  t.deepEqual(dependenciesOf([n('a'), n('b', 'a')], 'b'), ['a']);
  t.deepEqual(dependenciesOf([{ name: 'old' }], 'old'), []);
  t.deepEqual(dependenciesOf([], 'x'), []);
});
