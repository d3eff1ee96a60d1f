import { mount } from 'svelte'
import QuickAsk from './QuickAsk.svelte'
import { createClient } from './lib/assistant'
import { QuickConversation } from './lib/quick-ask.svelte'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
const client = createClient(window.assistant)
mount(QuickAsk, { target, props: { client, quick: new QuickConversation(client) } })
