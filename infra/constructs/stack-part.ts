import { createHash } from 'node:crypto';
import { Construct, type IConstruct } from 'constructs';

/**
 * An L3 construct of a stack that groups resources without adding to their logical IDs: a resource in
 * one keeps the ID it would have in the stack itself. The stack's resources were created directly in it
 * before they were grouped, and a changed logical ID makes CloudFormation replace the resource: a new
 * bucket, stream or table, with the old one orphaned or deleted. Resources of two parts of one stack must
 * have distinct construct ids, as they would as siblings; a clash fails the synthesis.
 */
export abstract class StackPart extends Construct {}

/**
 * The logical ID the CDK gives an element at `path` (its construct ids below the stack), leaving out
 * those of `StackPart`s. The CDK's own algorithm (`makeUniqueId`), which no CDK release may change
 * without replacing every deployed resource: "Default" is left out; a single id stands alone; otherwise
 * the ids without "Resource" and without repeats, then the MD5 of the full path.
 */
export function logicalIdOf(scopes: readonly IConstruct[]): string {
  const path = scopes
    .filter((scope) => !(scope instanceof StackPart))
    .map((scope) => scope.node.id)
    .filter((id) => id !== 'Default');
  const alphanumeric = (id: string) => id.replace(/[^A-Za-z0-9]/g, '');
  if (path.length === 1) {
    const candidate = alphanumeric(path[0] as string);
    if (candidate.length <= 255) return candidate;
  }
  const hash = createHash('md5').update(path.join('/')).digest('hex').slice(0, 8).toUpperCase();
  const human: string[] = [];
  for (const id of path) if (human.length === 0 || !(human.at(-1) as string).endsWith(id)) human.push(id);
  return (
    human
      .filter((id) => id !== 'Resource')
      .map(alphanumeric)
      .join('')
      .slice(0, 240) + hash
  );
}
