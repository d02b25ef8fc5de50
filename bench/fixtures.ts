/**
 * The "bug record" every benchmark uses: a bug tracker entry, about 460 bytes as JSON.
 * Deterministic for a given index, so every run and every baseline see the same data.
 */
const statuses = ['open', 'in-progress', 'review', 'closed', 'wontfix']
const priorities = ['low', 'medium', 'high', 'critical']
const components = ['sync', 'storage', 'query', 'cli', 'crypto', 'network', 'ui']
const people = ['ada', 'grace', 'linus', 'barbara', 'ken', 'margaret', 'edsger', 'donald']
const words = ['crash', 'when', 'syncing', 'large', 'document', 'after', 'reconnect', 'index',
  'query', 'returns', 'stale', 'results', 'timeout', 'on', 'slow', 'network', 'memory', 'grows']

export interface BugRecord {
  id: string
  title: string
  description: string
  status: string
  priority: string
  component: string
  reporter: string
  assignee: string
  labels: string[]
  votes: number
  estimate: number
  createdAt: Date
  updatedAt: Date
  resolved: boolean
  version: string
}

function pick<T> (list: T[], n: number): T { return list[n % list.length]! }

export function bugRecord (i: number): BugRecord {
  const words8 = Array.from({ length: 8 }, (_, k) => pick(words, i * 7 + k * 3))
  const desc = Array.from({ length: 13 }, (_, k) => pick(words, i * 5 + k * 11)).join(' ')
  const created = Date.UTC(2026, 0, 1) + (i % 100_000) * 60_000
  return {
    id: `bug-${String(i).padStart(8, '0')}`,
    title: words8.join(' '),
    description: desc,
    status: pick(statuses, i),
    priority: pick(priorities, i * 3),
    component: pick(components, i * 5),
    reporter: pick(people, i),
    assignee: pick(people, i * 7 + 1),
    labels: [pick(components, i), pick(priorities, i + 1), 'triaged'],
    votes: i % 97,
    estimate: (i % 13) * 0.5,
    createdAt: new Date(created),
    updatedAt: new Date(created + 3_600_000),
    resolved: i % 5 === 3,
    version: `1.${i % 10}.${i % 7}`
  }
}
