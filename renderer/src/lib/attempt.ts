// How the window's controllers run an action the user asked for: its error becomes the
// sentence the page shows (cleared when the next action starts), never an unhandled rejection.
import { errorText, stoppedByUser } from './assistant'

/** true when the task worked; otherwise its error's sentence went to report (none when the user stopped it). */
export async function attempt(report: (error: string | null) => void, task: () => Promise<void>): Promise<boolean> {
  report(null)
  try {
    await task()
    return true
  } catch (e) {
    if (!stoppedByUser(e)) report(errorText(e))
    return false
  }
}
