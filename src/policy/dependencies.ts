/**
 * `dependsOn` between the processes of one container, pure: in what order
 * they start, which must be restarted along with one that was, and whether the
 * graph has a cycle. Ties keep the spec's order, so the same spec always
 * starts the same way.
 */

export interface DependencyNode {
  name: string;
  dependsOn?: string[];
}

/** The first cycle found, as a path that ends where it began (["a", "b", "a"]), or null. */
export function findCycle(nodes: DependencyNode[]): string[] | null {
  const edges = new Map(nodes.map((n) => [n.name, n.dependsOn ?? []]));
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (name: string): string[] | null => {
    if (onPath.has(name)) return [...path.slice(path.indexOf(name)), name];
    if (done.has(name) || !edges.has(name)) return null;
    onPath.add(name);
    path.push(name);
    for (const dep of edges.get(name)!) {
      const cycle = visit(dep);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(name);
    done.add(name);
    return null;
  };
  for (const n of nodes) {
    const cycle = visit(n.name);
    if (cycle) return cycle;
  }
  return null;
}

/**
 * Every process after all it depends on; among those free to go, the one
 * first in the spec. Unknown names are ignored (the spec check refuses them);
 * a cycle throws, since a validated spec has none.
 */
export function startOrder(nodes: DependencyNode[]): string[] {
  const names = new Set(nodes.map((n) => n.name));
  const placed = new Set<string>();
  const order: string[] = [];
  while (order.length < nodes.length) {
    const next = nodes.find((n) => !placed.has(n.name) && (n.dependsOn ?? []).every((d) => placed.has(d) || !names.has(d)));
    if (!next) throw new Error(`dependency cycle among ${nodes.filter((n) => !placed.has(n.name)).map((n) => n.name).join(', ')}`);
    placed.add(next.name);
    order.push(next.name);
  }
  return order;
}

/**
 * Everything that depends on `name`, directly or through others, in start
 * order: what is restarted after it, in that order (stopped in the reverse).
 */
export function dependentsOf(nodes: DependencyNode[], name: string): string[] {
  const affected = new Set<string>([name]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const n of nodes) {
      if (!affected.has(n.name) && (n.dependsOn ?? []).some((d) => affected.has(d))) {
        affected.add(n.name);
        grew = true;
      }
    }
  }
  return startOrder(nodes).filter((n) => n !== name && affected.has(n));
}

/** Direct dependencies of `name` (empty for an unknown name). */
export function dependenciesOf(nodes: DependencyNode[], name: string): string[] {
  return nodes.find((n) => n.name === name)?.dependsOn ?? [];
}
