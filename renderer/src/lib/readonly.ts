/**
 * State as a controller hands it out: components read it, and only the controller's methods
 * change it, so a stray assignment in a component fails to compile instead of silently
 * editing shared state (or, for `$state.raw` lists, editing it without a re-render).
 */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T
