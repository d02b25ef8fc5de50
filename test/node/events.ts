/** Resolves with the first event of `type` on `target` whose detail matches, within a bound (no sleeps). */
export function nextEvent<T> (target: EventTarget, type: string, match: (detail: T) => boolean = () => true, timeoutMs = 20_000, what = `a ${type} event`): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { target.removeEventListener(type, on); reject(new Error(`${what}: not within ${timeoutMs} ms`)) }, timeoutMs)
    const on = (e: Event): void => {
      const detail = (e as CustomEvent<T>).detail ?? (e as T)
      if (!match(detail)) return
      clearTimeout(timer)
      target.removeEventListener(type, on)
      resolve(detail)
    }
    target.addEventListener(type, on)
  })
}
