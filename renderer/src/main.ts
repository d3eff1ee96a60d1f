import { mount } from 'svelte'
import App from './App.svelte'
import { createClient } from './lib/assistant'
import { ChatController } from './lib/chat.svelte'
import { ModelsController } from './lib/models.svelte'
import './app.css'

const target = document.getElementById('app')
if (!target) throw new Error('missing #app')
const client = createClient(window.assistant)
mount(App, { target, props: { client, chat: new ChatController(client), models: new ModelsController(client) } })
