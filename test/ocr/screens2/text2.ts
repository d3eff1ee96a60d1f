// Text beyond ASCII for the second screen set (issue 20): accented Latin (French, German,
// Polish) as UI strings and prose, and Simplified Chinese: UI labels, short lines with
// full-width punctuation, and sentences. Seeded through set 1's Rng, so a layout always holds
// the same text. Phrases are real ones people see, not random letters, so a reader's language
// model is not the thing being tested.
import type { Rng } from '../screens/text.js'
import { cap } from '../screens/text.js'

export type Lang = 'fr' | 'de' | 'pl'

const UI: Record<Lang, string[]> = {
  fr: [
    'Fichier',
    'Édition',
    'Affichage',
    'Insérer',
    'Paramètres',
    'Aide',
    'Télécharger',
    'Préférences',
    'À propos',
    'Réglages système',
    'Sécurité',
  ],
  de: [
    'Datei',
    'Bearbeiten',
    'Ansicht',
    'Einfügen',
    'Übersicht',
    'Größe ändern',
    'Schließen',
    'Öffnen',
    'Einstellungen',
    'Bestätigen',
    'Änderungen',
  ],
  pl: ['Plik', 'Edycja', 'Widok', 'Wstaw', 'Ustawienia', 'Pomoc', 'Wyłącz', 'Usuń', 'Źródło', 'Użytkownik', 'Wiadomość'],
}

const PROSE: Record<Lang, string[]> = {
  fr: (
    'le rapport annuel a été envoyé à la réunion de février, les données reçues sont déjà vérifiées, ' +
    "l'équipe a préparé une première version du système, êtes-vous sûr de vouloir supprimer ce fichier, " +
    'la mise à jour sera installée après le redémarrage, votre commande a été expédiée vers Orléans, ' +
    'les élèves ont reçu leurs résultats, où se trouve le dossier partagé, ça dépend de la sécurité du réseau'
  ).split(', '),
  de: (
    'die Größe des Fensters lässt sich jederzeit ändern, bitte überprüfen Sie Ihre Einstellungen, ' +
    'die Datei wurde erfolgreich gespeichert, für alle Benutzer gültig ab März, ' +
    'der Bericht enthält Änderungen aus der Übersicht, Schließen ohne zu speichern, ' +
    'Straßen in München und Köln sind gesperrt, das Gerät wird in fünf Minuten neu gestartet'
  ).split(', '),
  pl: (
    'zmiany zostały zapisane w pliku źródłowym, użytkownik nie ma uprawnień do tej wiadomości, ' +
    'pobieranie zakończone pomyślnie, zażółć gęślą jaźń, spotkanie w Łodzi odbędzie się w środę, ' +
    'wyłącz powiadomienia na czas prezentacji, czy na pewno chcesz usunąć ten katalog, ' +
    'sprawdź ustawienia sieci przed aktualizacją'
  ).split(', '),
}

export const uiWord = (r: Rng, lang: Lang): string => r.pick(UI[lang])
export const uiWords = (lang: Lang): readonly string[] => UI[lang]
/** One sentence of prose in the language, capitalised and ended. */
export const accented = (r: Rng, lang: Lang): string => `${cap(r.pick(PROSE[lang]))}${r.pick(['.', '.', '!'])}`

/** Menu bar and common labels, as Chinese software writes them (accelerators in full-width brackets). */
export const ZH_MENU = ['文件（F）', '编辑（E）', '视图（V）', '插入（I）', '工具（T）', '帮助（H）']
export const ZH_UI = [
  '首页',
  '设置',
  '搜索',
  '下载',
  '消息',
  '通知',
  '确定',
  '取消',
  '保存',
  '打开',
  '关闭',
  '删除',
  '新建文件夹',
  '个人中心',
  '退出登录',
]
/** Short lines with full-width punctuation: where PP-OCRv4 is known to fail (issue 20). */
const ZH_SHORT = [
  '保存成功！',
  '确定删除？',
  '请稍后再试。',
  '网络错误：连接超时',
  '已完成（3/5）',
  '注意：仅限内部使用',
  '下载中……',
  '“新版本”已发布',
  '共 12 项，已选 2 项',
  '文件、图片、视频',
  '今天 14:30',
  '余额：¥1,280.00',
]
const ZH_SENTENCES = [
  '本周的项目会议改到星期四下午三点举行。',
  '请在月底之前提交季度报告和预算表。',
  '服务器将于今晚十点进行例行维护，预计持续两个小时。',
  '新版本修复了多个已知问题，并提升了启动速度。',
  '如果您忘记了密码，可以通过手机号码重新设置。',
  '今天北京天气晴，最高气温二十六度。',
  '我们已经收到您的订单，将在三个工作日内发货。',
  '点击下方按钮即可同步所有设备上的数据。',
  '这份文档包含了系统架构和部署步骤的说明。',
  '欢迎加入团队，有任何问题请随时联系我。',
  '上传失败，请检查文件大小后重新上传。',
  '会议纪要已经发送到各位的邮箱，请查收。',
]
export const zhShort = (r: Rng): string => r.pick(ZH_SHORT)
export const zhSentence = (r: Rng): string => r.pick(ZH_SENTENCES)
export const zhUi = (r: Rng): string => r.pick(ZH_UI)

/** True when the text holds a CJK ideograph or CJK punctuation: such lines have a truth of their own. */
export const isCjk = (s: string): boolean => /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/.test(s)
