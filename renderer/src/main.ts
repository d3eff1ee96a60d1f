import { mount } from 'svelte'
import App from './App.svelte'
import { createClient } from './lib/assistant'
import { ChatController } from './lib/chat.svelte'
import { EnginesController } from './lib/engines.svelte'
import { ModelsController } from './lib/models.svelte'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
const client = createClient(window.assistant)
// The chat controller asks the engines which one answers a conversation, and whether it takes images.
const engines = new EnginesController(client)
mount(App, { target, props: { client, chat: new ChatController(client, engines), models: new ModelsController(client), engines } })
