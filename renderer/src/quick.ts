import { mount } from 'svelte'
import QuickAsk from './QuickAsk.svelte'
import { createClient } from './lib/assistant'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
mount(QuickAsk, { target, props: { client: createClient(window.assistant) } })
