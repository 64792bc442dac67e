/*
 * Flinks Connect, offline sandbox edition: the widget page served at /v2/ by the sandbox.
 *
 * It takes Flinks Connect's query parameters, talks to the sandbox's Flinks API (/Authorize) and
 * posts the real Connect events to window.parent. Vanilla JS, no build step, no network beyond the
 * sandbox, no inline handlers (the page ships a strict Content-Security-Policy). Anything that came
 * from the API or the URL is shown with textContent, never innerHTML.
 *
 * The flow, in Flinks Connect's order: consent (consentEnable), institution, credentials, MFA (when
 * the bank asks), account selection (accountSelectorEnable), then the redirect.
 *
 * URL parameters (Flinks Connect's; a flag is on with true, 1 or yes, in any case):
 *   Honoured
 *   demo=true                  shows Flinks Capital, the test institution (default false)
 *   redirectUrl=URL            where the page goes on success (http/https only), with loginId,
 *                              institution, accountId (account selection) and tag appended
 *   innerRedirect=true         only this frame navigates to redirectUrl (default: the top window)
 *   language=en|fr             every visible string; French questions from the bank (default en)
 *   consentEnable=false        skips the consent screen (default true, as in Flinks' docs)
 *   customerName=TEXT          the integrator's name on the consent, success and denied screens
 *   institutionFilterEnable    search box above the institutions (default false)
 *   closeEnable                close "×" posting COMPONENT_CLOSE_SESSION (default false)
 *   headerEnable               the "Secure connection" header (default true)
 *   headerImgEnable            the lock in that header (default true)
 *   backEnable                 the back arrow of the credentials screen (default true)
 *   backgroundColor=HEX        page background; foregroundColor1=HEX: buttons and accents (no #;
 *                              anything that is not 3 or 6 hex digits is ignored)
 *   detailsAndStatementEnable  consent also lists bank statements (default false)
 *   accountSelectorEnable      account selection after sign-in (default false)
 *   accountSelectorMultiple    several accounts may be chosen (default false)
 *   accountSelectorCurrency    cad, usd or cad,usd: only accounts in those currencies are listed
 *   showAllAccounts            lists every account; by default only operations accounts (chequing,
 *                              savings) are, as Flinks does
 *   authorizeToken=TOKEN       sent as flinks-auth-key with the first /Authorize only
 *   stringify=true             events are posted as JSON text instead of objects
 *   tag=TEXT                   the integrator's reference, handed back in the redirect URL
 *   Ignored (accepted, no effect in the offline sandbox)
 *   theme, desktopLayout, fixedHeightEnable, boxLayout, loadingType, staticLoadingEnable,
 *   removePadding (layout variants of Flinks' own widget: this page has one responsive layout);
 *   demoOutbound (no OAuth pop-up offline); productType (no investment institutions offline);
 *   accountSelectorNoTitle; and any parameter not listed here.
 *
 * Stable hooks for automation (ids unless noted; tests drive the DOM through these):
 *   body[data-screen]        the active screen: consent | institutions | credentials | mfa |
 *                            accounts | success | unavailable | denied
 *   body[data-busy]          "true" while the bank is answering
 *   #close                   close "×" (closeEnable=true): posts COMPONENT_CLOSE_SESSION
 *   #back                    back arrow in the header (credentials / unavailable screens)
 *   #consent-title  #consent-accept  #consent-deny   the consent screen, shown first
 *   #institution-search      search box (institutionFilterEnable=true)
 *   #institution-list        the institution tiles; each tile is a
 *                            button.fc-inst[data-testid="institution"][data-institution="<Id>"]
 *                            with id "institution-<Id>", e.g. #institution-FlinksCapital
 *   #institution-empty       "no match" message of the search
 *   #unavailable-back        Back button of the "not available in the offline sandbox" panel
 *   #username  #password  #password-toggle  #submit  #credentials-error
 *   #mfa-prompt              the bank's question (plain text; further ones: #mfa-prompt-1, ...);
 *                            every one is [data-testid="mfa-prompt"]
 *   #mfa-answer              answer input (further ones: #mfa-answer-1, ...); a multiple choice is
 *                            a fieldset of that id holding input[type=radio][data-testid="mfa-option"]
 *                            with the option's text as its value
 *   #mfa-submit  #mfa-error
 *   #account-list            the accounts: radios, or checkboxes with accountSelectorMultiple;
 *                            each is input[name="account"][value="<AccountId>"]
 *                            [data-testid="account-option"], ids account-0, account-1, ...
 *   #accounts-select-all     "Select all" / "Clear" (accountSelectorMultiple)
 *   #account-continue  #accounts-error  #accounts-retry  #accounts-empty
 *   #success-title  #success-continue (link to the redirect URL)  #denied-restart
 *
 * Events posted (window.parent.postMessage(data, "*"); JSON strings when stringify=true):
 *   {step:"APP_MOUNTED"},
 *   {step:"COMPONENT_LOAD_CONSENT"|"COMPONENT_ACCEPT_CONSENT"|"COMPONENT_DENY_CONSENT"},
 *   {step:"COMPONENT_LOAD_INSTITUTION_SELECTOR"},
 *   {step:"INSTITUTION_SELECTED", institution}, {step:"DISABLED_INSTITUTION", institution},
 *   {step:"COMPONENT_LOAD_CREDENTIAL", institution}, {step:"SUBMIT_CREDENTIAL", institution},
 *   {step:"COMPONENT_LOAD_CREDENTIAL_RETRY", institution},
 *   {step:"COMPONENT_LOAD_MFA", institution, mfaTypes}, {step:"SUBMIT_MFA", institution},
 *   {step:"COMPONENT_LOAD_MFA_RETRY", institution, mfaTypes},
 *   {step:"COMPONENT_LOAD_ACCOUNT_SELECTION", institution, totalAccounts, displayedAccounts},
 *   {step:"ACCOUNT_SELECTED", institution, accountId}, {step:"COMPONENT_CLOSE_SESSION", institution},
 *   {step:"APP_ONLINE"|"APP_OFFLINE", institution}, {step:"REDIRECT", institution, url[, accountId]},
 *   error events {requestId, flinksCode, institution}.
 * Once an institution is selected, every event carries it. accountId is the chosen account's id,
 * or with accountSelectorMultiple the list of the chosen ids (an array, even for one).
 * The REDIRECT url (and the page it navigates to) is redirectUrl + loginId=...&institution=...,
 * then &accountId=... with account selection (several ids comma-separated: accountId=a,b), then
 * &tag=... when Connect was opened with a tag, each value URL-encoded.
 */
(function () {
  "use strict";

  // ---------------------------------------------------------------------------------------------
  // Parameters
  // ---------------------------------------------------------------------------------------------
  var FLINKS_CAPITAL = "FlinksCapital";
  var DEFAULT_API_BASE = "/v3/43387ca6-0391-4c82-857d-70d95f087ecb/BankingServices";
  var REQUEST_TIMEOUT_MS = 90000;
  var REDIRECT_PAUSE_MS = 1000; // the success screen is seen for a moment before the page leaves

  var query = new URLSearchParams(window.location.search);

  function flag(name, fallback) {
    var value = query.get(name);
    if (value === null || value === "") return fallback;
    value = value.trim().toLowerCase();
    return value === "true" || value === "1" || value === "yes";
  }

  function hexColour(name) {
    var value = (query.get(name) || "").trim().replace(/^#/, "");
    return /^(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(value) ? "#" + value : null;
  }

  function currencies(name) {
    // "cad", "usd", "cad,usd" (any case, spaces or commas between): the currencies listed; [] = all.
    var found = [];
    (query.get(name) || "").split(/[\s,;]+/).forEach(function (code) {
      code = code.trim().toUpperCase();
      if (/^[A-Z]{3}$/.test(code) && found.indexOf(code) === -1) found.push(code);
    });
    return found;
  }

  function httpUrl(value) {
    // Only http(s) redirect targets: a javascript: or data: "redirect" would run in this frame.
    if (!value) return "";
    try {
      var url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? value : "";
    } catch (e) {
      return "";
    }
  }

  var config = {
    demo: flag("demo", false),
    redirectUrl: httpUrl((query.get("redirectUrl") || "").trim()),
    innerRedirect: flag("innerRedirect", false),
    language: /^fr/i.test(query.get("language") || "") ? "fr" : "en",
    consentEnable: flag("consentEnable", true),
    customerName: (query.get("customerName") || "").trim(),
    institutionFilterEnable: flag("institutionFilterEnable", false),
    closeEnable: flag("closeEnable", false),
    headerEnable: flag("headerEnable", true),
    headerImgEnable: flag("headerImgEnable", true),
    backEnable: flag("backEnable", true),
    backgroundColor: hexColour("backgroundColor"),
    foregroundColor1: hexColour("foregroundColor1"),
    detailsAndStatementEnable: flag("detailsAndStatementEnable", false),
    accountSelectorEnable: flag("accountSelectorEnable", false),
    accountSelectorMultiple: flag("accountSelectorMultiple", false),
    accountSelectorCurrency: currencies("accountSelectorCurrency"),
    showAllAccounts: flag("showAllAccounts", false),
    stringify: flag("stringify", false),
    authorizeToken: (query.get("authorizeToken") || "").trim(),
    // The integrator's own marker, handed back as is in the redirect URL (tag=...).
    tag: query.get("tag") || ""
  };

  var apiBase = (function () {
    var meta = document.querySelector('meta[name="flinks-api-base"]');
    var value = meta ? meta.getAttribute("content") || "" : "";
    // Opened as a plain file (placeholder not replaced): fall back to the toolbox customer.
    return value && value.indexOf("__") !== 0 ? value.replace(/\/+$/, "") : DEFAULT_API_BASE;
  })();

  // ---------------------------------------------------------------------------------------------
  // Text (every visible string, English and French)
  // ---------------------------------------------------------------------------------------------
  var STRINGS = {
    en: {
      "doc.title": "Connect your account",
      "header.secure": "Secure connection",
      "footer.readonly": "Read-only access · You can disconnect at any time",
      "aria.back": "Back",
      "aria.close": "Close",
      "inst.title": "Select your institution",
      "inst.subtitle": "Choose the bank or credit union where you hold your accounts.",
      "inst.search": "Search for your institution",
      "inst.demoTag": "Test institution",
      "inst.demoDetail": "Sample accounts for demos and tests",
      "inst.others": "Canadian institutions",
      "inst.empty": "No institution matches “{query}”.",
      "inst.listLabel": "Institutions",
      "unavailable.title": "{institution} is not available in the offline sandbox",
      "unavailable.text": "This sandbox works without a network, so it can only connect to Flinks Capital, the test institution. Go back and pick Flinks Capital to try the whole connection.",
      "unavailable.back": "Back to institutions",
      "cred.title": "Sign in to {institution}",
      "cred.subtitle": "Use the username and password you use for online banking.",
      "cred.username": "Username",
      "cred.password": "Password",
      "cred.show": "Show",
      "cred.hide": "Hide",
      "cred.showLabel": "Show password",
      "cred.hideLabel": "Hide password",
      "cred.submit": "Continue",
      "cred.busy": "Connecting…",
      "cred.missingUsername": "Enter your username.",
      "cred.missingPassword": "Enter your password.",
      "hint.title": "Test credentials",
      "hint.username": "Username:",
      "hint.password": "Password:",
      "hint.answers": "Security answers:",
      "hint.city": "city",
      "hint.country": "country",
      "hint.shape": "shape",
      "hint.answersTitle": "Test answers",
      "mfa.title": "Security question",
      "mfa.subtitle": "{institution} wants to make sure it's you.",
      "mfa.answer": "Your answer",
      "mfa.choose": "Choose an answer",
      "mfa.submit": "Continue",
      "mfa.busy": "Checking…",
      "mfa.missing": "Enter your answer.",
      "consent.defaultCustomer": "This application",
      "consent.defaultCustomerInline": "this application",
      "consent.title": "{customer} would like to access your bank accounts",
      "consent.intro": "{customer} uses Flinks to connect securely to your bank. If you allow it, {customerInline} will receive:",
      "consent.listLabel": "What {customerInline} will receive",
      "consent.details": "Account details and balances",
      "consent.transactions": "Transaction history",
      "consent.holder": "Account holder name and contact information",
      "consent.statements": "Bank statements",
      "consent.readonly": "This access is read-only: nobody can move money or make changes to your accounts.",
      "consent.privacy": "Flinks never shares your username or password with {customerInline}. You can withdraw this access at any time.",
      "consent.accept": "Allow access",
      "consent.deny": "Deny",
      "accounts.title": "Choose an account",
      "accounts.subtitle": "Select the account you want to connect.",
      "accounts.titleMultiple": "Choose your accounts",
      "accounts.subtitleMultiple": "Select one or more accounts to connect.",
      "accounts.loading": "Loading your accounts…",
      "accounts.none": "No accounts were found for this login.",
      "accounts.noneEligible": "None of the accounts of this login can be connected here.",
      "accounts.selectAll": "Select all",
      "accounts.clearAll": "Clear selection",
      "accounts.selectedNone": "No account selected",
      "accounts.selectedOne": "1 account selected",
      "accounts.selectedMany": "{count} accounts selected",
      "accounts.continue": "Continue",
      "accounts.retry": "Try again",
      "accounts.available": "Available {amount}",
      "accounts.listLabel": "Your accounts",
      "success.title": "You're connected",
      "success.text": "Your {institution} account is now connected.",
      "success.textCustomer": "Your {institution} account is now connected to {customer}.",
      "success.textMany": "Your {count} {institution} accounts are now connected.",
      "success.textManyCustomer": "Your {count} {institution} accounts are now connected to {customer}.",
      "success.redirecting": "Taking you back…",
      "success.done": "You can close this window.",
      "success.continue": "Continue",
      "denied.title": "Access not granted",
      "denied.text": "{customer} will not receive any of your information.",
      "denied.restart": "Start over",
      "type.Chequing": "Chequing",
      "type.Savings": "Savings",
      "type.CreditCard": "Credit card",
      "type.LineOfCredit": "Line of credit",
      "type.Mortgage": "Mortgage",
      "type.Loan": "Loan",
      "type.RRSP": "RRSP",
      "type.TFSA": "TFSA",
      "type.FHSA": "FHSA",
      "type.RESP": "RESP",
      "type.RRIF": "RRIF",
      "type.LIRA": "LIRA",
      "type.Investment": "Investment",
      "type.Business": "Business",
      "type.Prepaid": "Prepaid card",
      "type.Other": "Other",
      "error.INVALID_LOGIN": "The username or password is incorrect. Check them and try again.",
      "error.INVALID_USERNAME": "The username is incorrect. Check it and try again.",
      "error.INVALID_PASSWORD": "The password is incorrect. Check it and try again.",
      "error.DISABLED_LOGIN": "Your bank has disabled online access for this account. Contact your bank, then try again.",
      "error.RETRY_LATER": "We couldn't reach {institution} right now. Please try again in a few minutes.",
      "error.NEW_ACCOUNT": "Your bank needs you to complete a step in your online banking first. Sign in there, then try again.",
      "error.INVALID_SECURITY_RESPONSE": "That answer doesn't match what your bank has on file. Try again.",
      "error.INVALID_SECURITY_RESPONSE_NO_RETRY": "That answer doesn't match what your bank has on file. Sign in again to get a new question.",
      "error.SESSION": "Your session has expired. Sign in again.",
      "error.UNAUTHORIZED": "This connection could not be authorized. Close this window and start again.",
      "error.TOO_MANY_REQUESTS": "Too many attempts. Wait a moment and try again.",
      "error.DISABLED_INSTITUTION": "This institution is not available right now.",
      "error.AGGREGATION_ERROR": "Something went wrong on our side. Please try again.",
      "error.network": "We couldn't reach the server. Check your connection and try again.",
      "error.timeout": "Your bank is taking too long to answer. Please try again.",
      "error.generic": "Something went wrong ({code}). Please try again."
    },
    fr: {
      "doc.title": "Connectez votre compte",
      "header.secure": "Connexion sécurisée",
      "footer.readonly": "Accès en lecture seule · Déconnexion possible en tout temps",
      "aria.back": "Retour",
      "aria.close": "Fermer",
      "inst.title": "Choisissez votre institution",
      "inst.subtitle": "Sélectionnez la banque ou la caisse où se trouvent vos comptes.",
      "inst.search": "Rechercher votre institution",
      "inst.demoTag": "Institution de test",
      "inst.demoDetail": "Comptes fictifs pour les démos et les tests",
      "inst.others": "Institutions canadiennes",
      "inst.empty": "Aucune institution ne correspond à « {query} ».",
      "inst.listLabel": "Institutions",
      "unavailable.title": "{institution} n'est pas offerte dans le bac à sable hors ligne",
      "unavailable.text": "Ce bac à sable fonctionne sans réseau : il ne peut se connecter qu'à Flinks Capital, l'institution de test. Revenez en arrière et choisissez Flinks Capital pour essayer toute la connexion.",
      "unavailable.back": "Retour aux institutions",
      "cred.title": "Connectez-vous à {institution}",
      "cred.subtitle": "Utilisez le nom d'utilisateur et le mot de passe de vos services bancaires en ligne.",
      "cred.username": "Nom d'utilisateur",
      "cred.password": "Mot de passe",
      "cred.show": "Afficher",
      "cred.hide": "Masquer",
      "cred.showLabel": "Afficher le mot de passe",
      "cred.hideLabel": "Masquer le mot de passe",
      "cred.submit": "Continuer",
      "cred.busy": "Connexion…",
      "cred.missingUsername": "Entrez votre nom d'utilisateur.",
      "cred.missingPassword": "Entrez votre mot de passe.",
      "hint.title": "Identifiants de test",
      "hint.username": "Nom d'utilisateur :",
      "hint.password": "Mot de passe :",
      "hint.answers": "Réponses de sécurité :",
      "hint.city": "ville",
      "hint.country": "pays",
      "hint.shape": "forme",
      "hint.answersTitle": "Réponses de test",
      "mfa.title": "Question de sécurité",
      "mfa.subtitle": "{institution} veut s'assurer que c'est bien vous.",
      "mfa.answer": "Votre réponse",
      "mfa.choose": "Choisissez une réponse",
      "mfa.submit": "Continuer",
      "mfa.busy": "Vérification…",
      "mfa.missing": "Entrez votre réponse.",
      "consent.defaultCustomer": "Cette application",
      "consent.defaultCustomerInline": "cette application",
      "consent.title": "{customer} souhaite accéder à vos comptes bancaires",
      "consent.intro": "{customer} utilise Flinks pour se connecter de façon sécurisée à votre banque. Si vous l'autorisez, {customerInline} recevra :",
      "consent.listLabel": "Ce que {customerInline} recevra",
      "consent.details": "Les détails et les soldes de vos comptes",
      "consent.transactions": "L'historique de vos transactions",
      "consent.holder": "Le nom et les coordonnées du titulaire",
      "consent.statements": "Vos relevés bancaires",
      "consent.readonly": "Cet accès est en lecture seule : personne ne peut déplacer d'argent ni modifier vos comptes.",
      "consent.privacy": "Flinks ne communique jamais votre nom d'utilisateur ni votre mot de passe à {customerInline}. Vous pouvez retirer cet accès en tout temps.",
      "consent.accept": "Autoriser l'accès",
      "consent.deny": "Refuser",
      "accounts.title": "Choisissez un compte",
      "accounts.subtitle": "Sélectionnez le compte que vous souhaitez connecter.",
      "accounts.titleMultiple": "Choisissez vos comptes",
      "accounts.subtitleMultiple": "Sélectionnez un ou plusieurs comptes à connecter.",
      "accounts.loading": "Chargement de vos comptes…",
      "accounts.none": "Aucun compte n'a été trouvé pour cet accès.",
      "accounts.noneEligible": "Aucun des comptes de cet accès ne peut être connecté ici.",
      "accounts.selectAll": "Tout sélectionner",
      "accounts.clearAll": "Tout désélectionner",
      "accounts.selectedNone": "Aucun compte sélectionné",
      "accounts.selectedOne": "1 compte sélectionné",
      "accounts.selectedMany": "{count} comptes sélectionnés",
      "accounts.continue": "Continuer",
      "accounts.retry": "Réessayer",
      "accounts.available": "Disponible : {amount}",
      "accounts.listLabel": "Vos comptes",
      "success.title": "Vous êtes connecté",
      "success.text": "Votre compte {institution} est maintenant connecté.",
      "success.textCustomer": "Votre compte {institution} est maintenant connecté à {customer}.",
      "success.textMany": "Vos {count} comptes {institution} sont maintenant connectés.",
      "success.textManyCustomer": "Vos {count} comptes {institution} sont maintenant connectés à {customer}.",
      "success.redirecting": "Redirection en cours…",
      "success.done": "Vous pouvez fermer cette fenêtre.",
      "success.continue": "Continuer",
      "denied.title": "Accès refusé",
      "denied.text": "{customer} ne recevra aucune de vos informations.",
      "denied.restart": "Recommencer",
      "type.Chequing": "Chèques",
      "type.Savings": "Épargne",
      "type.CreditCard": "Carte de crédit",
      "type.LineOfCredit": "Marge de crédit",
      "type.Mortgage": "Prêt hypothécaire",
      "type.Loan": "Prêt",
      "type.RRSP": "REER",
      "type.TFSA": "CELI",
      "type.FHSA": "CELIAPP",
      "type.RESP": "REEE",
      "type.RRIF": "FERR",
      "type.LIRA": "CRI",
      "type.Investment": "Placement",
      "type.Business": "Entreprise",
      "type.Prepaid": "Carte prépayée",
      "type.Other": "Autre",
      "error.INVALID_LOGIN": "Le nom d'utilisateur ou le mot de passe est incorrect. Vérifiez-les et réessayez.",
      "error.INVALID_USERNAME": "Le nom d'utilisateur est incorrect. Vérifiez-le et réessayez.",
      "error.INVALID_PASSWORD": "Le mot de passe est incorrect. Vérifiez-le et réessayez.",
      "error.DISABLED_LOGIN": "Votre banque a désactivé l'accès en ligne de ce compte. Communiquez avec votre banque, puis réessayez.",
      "error.RETRY_LATER": "Impossible de joindre {institution} pour le moment. Réessayez dans quelques minutes.",
      "error.NEW_ACCOUNT": "Votre banque vous demande d'abord une action dans vos services bancaires en ligne. Connectez-vous-y, puis réessayez.",
      "error.INVALID_SECURITY_RESPONSE": "Cette réponse ne correspond pas à celle de votre banque. Réessayez.",
      "error.INVALID_SECURITY_RESPONSE_NO_RETRY": "Cette réponse ne correspond pas à celle de votre banque. Reconnectez-vous pour obtenir une nouvelle question.",
      "error.SESSION": "Votre session a expiré. Reconnectez-vous.",
      "error.UNAUTHORIZED": "Cette connexion n'a pas pu être autorisée. Fermez cette fenêtre et recommencez.",
      "error.TOO_MANY_REQUESTS": "Trop de tentatives. Patientez un instant et réessayez.",
      "error.DISABLED_INSTITUTION": "Cette institution n'est pas disponible pour le moment.",
      "error.AGGREGATION_ERROR": "Un problème est survenu de notre côté. Veuillez réessayer.",
      "error.network": "Impossible de joindre le serveur. Vérifiez votre connexion et réessayez.",
      "error.timeout": "Votre banque met trop de temps à répondre. Veuillez réessayer.",
      "error.generic": "Un problème est survenu ({code}). Veuillez réessayer."
    }
  };

  function t(key, vars) {
    var table = STRINGS[config.language];
    var text = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : STRINGS.en[key] || key;
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return vars && Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : match;
    });
  }

  var locale = config.language === "fr" ? "fr-CA" : "en-CA";

  // ---------------------------------------------------------------------------------------------
  // Institutions: Flinks Capital (demo=true) and Canadian banks as neutral monogram tiles
  // ---------------------------------------------------------------------------------------------
  var INSTITUTIONS = [
    { id: "RBC", en: "RBC Royal Bank", fr: "RBC Banque Royale", mono: "RBC", alias: "royal" },
    { id: "TD", en: "TD Canada Trust", fr: "TD Canada Trust", mono: "TD", alias: "toronto dominion" },
    { id: "Scotia", en: "Scotiabank", fr: "Banque Scotia", mono: "SB", alias: "nova scotia bns" },
    { id: "BMO", en: "BMO", fr: "BMO", mono: "BMO", alias: "bank of montreal banque de montreal" },
    { id: "CIBC", en: "CIBC", fr: "CIBC", mono: "CIBC", alias: "canadian imperial" },
    { id: "National", en: "National Bank", fr: "Banque Nationale", mono: "NB", alias: "bnc nbc" },
    { id: "Desjardins", en: "Desjardins", fr: "Desjardins", mono: "DJ", alias: "caisse" },
    { id: "Tangerine", en: "Tangerine", fr: "Tangerine", mono: "TG", alias: "ing direct" },
    { id: "Simplii", en: "Simplii Financial", fr: "Simplii Financial", mono: "SF", alias: "pc financial" },
    { id: "EQBank", en: "EQ Bank", fr: "EQ Bank", mono: "EQ", alias: "equitable" },
    { id: "ATB", en: "ATB Financial", fr: "ATB Financial", mono: "ATB", alias: "alberta treasury" },
    { id: "Laurentian", en: "Laurentian Bank", fr: "Banque Laurentienne", mono: "LB", alias: "laurentienne" },
    { id: "Meridian", en: "Meridian", fr: "Meridian", mono: "MC", alias: "credit union" },
    { id: "Vancity", en: "Vancity", fr: "Vancity", mono: "VC", alias: "vancouver city savings credit union" },
    { id: "CoastCapital", en: "Coast Capital", fr: "Coast Capital", mono: "CC", alias: "savings credit union" }
  ];
  var TONES = ["slate", "blue", "teal", "indigo", "amber", "rose", "green", "violet", "cyan"];

  function institutionName(id) {
    if (id === FLINKS_CAPITAL) return "Flinks Capital";
    for (var i = 0; i < INSTITUTIONS.length; i++) {
      if (INSTITUTIONS[i].id === id) return INSTITUTIONS[i][config.language];
    }
    return id;
  }

  function fold(text) {
    return String(text).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // ---------------------------------------------------------------------------------------------
  // State and events
  // ---------------------------------------------------------------------------------------------
  var state = {
    screen: null,
    institution: null, // sticky once selected: every later event carries it
    requestId: null,
    loginId: null,
    challenges: [],
    tokenUsed: false,
    busy: false,
    accounts: [],
    accountId: null, // the chosen account's id, or the list of ids (accountSelectorMultiple)
    redirectTimer: null
  };

  function post(fields) {
    var data = {};
    if (fields.step) {
      data.step = fields.step;
      if (state.institution) data.institution = state.institution;
    } else {
      data.requestId = fields.requestId === undefined ? null : fields.requestId;
      data.flinksCode = fields.flinksCode;
      if (state.institution) data.institution = state.institution;
    }
    Object.keys(fields).forEach(function (key) {
      if (!(key in data)) data[key] = fields[key];
    });
    if (window.parent && window.parent !== window) {
      window.parent.postMessage(config.stringify ? JSON.stringify(data) : data, "*");
    }
  }

  function postStep(step, extra) {
    var fields = { step: step };
    if (extra) Object.keys(extra).forEach(function (key) { fields[key] = extra[key]; });
    post(fields);
  }

  function postError(flinksCode, requestId) {
    post({ flinksCode: flinksCode, requestId: requestId || state.requestId || null });
  }

  // ---------------------------------------------------------------------------------------------
  // DOM helpers
  // ---------------------------------------------------------------------------------------------
  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (key) {
        var value = attrs[key];
        if (value === null || value === undefined || value === false) return;
        if (key === "text") node.textContent = value;
        else if (key === "className") node.className = value;
        else node.setAttribute(key, value === true ? "" : value);
      });
    }
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function svgIcon(name) {
    // Icons drawn with a few strokes; built with DOM calls (no markup strings).
    var paths = {
      check: ["M5 12.5l4.5 4.5L19 7.5"],
      chevron: ["M9 5l7 7-7 7"],
      alert: ["M12 8v5", "M12 16.5v.5", "M10.3 3.9L2.6 17.2A2 2 0 0 0 4.3 20h15.4a2 2 0 0 0 1.7-2.8L13.7 3.9a2 2 0 0 0-3.4 0z"],
      lock: ["M6 11h12v9H6z", "M8.5 11V8a3.5 3.5 0 0 1 7 0v3"],
      shield: ["M12 3l7 3v5.5c0 4.3-3 7.9-7 9.5-4-1.6-7-5.2-7-9.5V6z", "M9 12l2 2 4-4"],
      app: ["M5 5h5.5v5.5H5z", "M13.5 5H19v5.5h-5.5z", "M5 13.5h5.5V19H5z", "M13.5 13.5H19V19h-5.5z"]
    };
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    svg.setAttribute("class", "fc-icon fc-icon-" + name);
    (paths[name] || []).forEach(function (d) {
      var path = document.createElementNS(ns, "path");
      path.setAttribute("d", d);
      svg.appendChild(path);
    });
    return svg;
  }

  function badge(id, size) {
    var cls = "fc-badge" + (size ? " fc-badge-" + size : "");
    if (id === FLINKS_CAPITAL) {
      return el("span", { className: cls + " fc-badge-logo", "aria-hidden": "true" }, [
        el("img", { src: "flinks-capital.svg", alt: "", width: "48", height: "48", draggable: "false" })
      ]);
    }
    var index = 0;
    var mono = id.slice(0, 2).toUpperCase();
    for (var i = 0; i < INSTITUTIONS.length; i++) {
      if (INSTITUTIONS[i].id === id) {
        index = i;
        mono = INSTITUTIONS[i].mono;
      }
    }
    var tone = TONES[index % TONES.length];
    return el("span", {
      className: cls + " fc-tone-" + tone + (mono.length > 3 ? " fc-badge-long" : ""),
      "aria-hidden": "true",
      text: mono
    });
  }

  function setBusy(button, busy, busyLabel, idleLabel) {
    state.busy = busy;
    document.body.setAttribute("data-busy", busy ? "true" : "false");
    button.disabled = busy;
    button.setAttribute("aria-busy", busy ? "true" : "false");
    button.classList.toggle("is-busy", busy);
    button.querySelector(".fc-btn-label").textContent = busy ? busyLabel : idleLabel;
  }

  function showAlert(node, message) {
    clear(node);
    if (!message) {
      node.hidden = true;
      return;
    }
    node.appendChild(svgIcon("alert"));
    node.appendChild(el("span", { text: message }));
    node.hidden = false;
  }

  var SCREENS = ["consent", "institutions", "unavailable", "credentials", "mfa", "accounts", "success", "denied"];

  function show(screen, focusTarget) {
    state.screen = screen;
    SCREENS.forEach(function (name) {
      $("screen-" + name).hidden = name !== screen;
    });
    document.body.setAttribute("data-screen", screen);
    var canGoBack = config.backEnable && (screen === "credentials" || screen === "unavailable");
    $("back").hidden = !canGoBack;
    updateTopbar();
    window.scrollTo(0, 0);
    var target = focusTarget || document.querySelector("#screen-" + screen + " h1");
    if (target) {
      try {
        target.focus({ preventScroll: true });
      } catch (e) {
        target.focus();
      }
    }
  }

  function updateTopbar() {
    var visible = config.headerEnable || config.closeEnable || !$("back").hidden;
    $("topbar").hidden = !visible;
  }

  // ---------------------------------------------------------------------------------------------
  // API
  // ---------------------------------------------------------------------------------------------
  function postJson(url, body, headers) {
    var controller = typeof AbortController === "function" ? new AbortController() : null;
    var timer = controller ? window.setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS) : null;
    var allHeaders = { "Content-Type": "application/json", Accept: "application/json" };
    Object.keys(headers || {}).forEach(function (key) { allHeaders[key] = headers[key]; });
    return fetch(url, {
      method: "POST",
      headers: allHeaders,
      body: JSON.stringify(body),
      cache: "no-store",
      credentials: "same-origin",
      signal: controller ? controller.signal : undefined
    })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try {
            data = text ? JSON.parse(text) : null;
          } catch (e) {
            data = null;
          }
          return { status: response.status, data: data && typeof data === "object" ? data : {} };
        });
      })
      .then(
        function (result) {
          if (timer) window.clearTimeout(timer);
          return result;
        },
        function (error) {
          if (timer) window.clearTimeout(timer);
          var failure = { status: 0, data: {}, network: error && error.name === "AbortError" ? "timeout" : "network" };
          return failure;
        }
      );
  }

  function authorize(body, firstCall) {
    var headers = {};
    // The authorize token is single-use: it goes with the first Authorize of the session only.
    if (firstCall && config.authorizeToken && !state.tokenUsed) {
      headers["flinks-auth-key"] = config.authorizeToken;
      state.tokenUsed = true;
    }
    return postJson(apiBase + "/Authorize", body, headers);
  }

  function errorMessage(result) {
    if (result.network === "timeout") return t("error.timeout");
    if (result.network) return t("error.network");
    var code = result.data.FlinksCode || "";
    var vars = { institution: institutionName(state.institution || FLINKS_CAPITAL) };
    if (code === "SESSION_NONEXISTENT" || code === "SESSION_EXPIRED" || code === "CONCURRENT_SESSION") {
      return t("error.SESSION");
    }
    if (code === "ACCESS_DENIED") return t("error.UNAUTHORIZED");
    if (code && STRINGS.en["error." + code]) return t("error." + code, vars);
    return t("error.generic", { code: code || "HTTP " + result.status });
  }

  // ---------------------------------------------------------------------------------------------
  // Screen: institutions
  // ---------------------------------------------------------------------------------------------
  function buildInstitutions() {
    var list = $("institution-list");
    clear(list);
    if (config.demo) {
      list.appendChild(
        el("li", { className: "fc-inst-featured" }, [
          el(
            "button",
            {
              type: "button",
              className: "fc-inst fc-inst-row",
              id: "institution-" + FLINKS_CAPITAL,
              "data-testid": "institution",
              "data-institution": FLINKS_CAPITAL,
              "data-search": fold("Flinks Capital flinkscapital test demo")
            },
            [
              badge(FLINKS_CAPITAL, "lg"),
              el("span", { className: "fc-inst-text" }, [
                el("span", { className: "fc-inst-name", text: "Flinks Capital" }),
                el("span", { className: "fc-inst-detail", text: t("inst.demoDetail") })
              ]),
              el("span", { className: "fc-pill", text: t("inst.demoTag") }),
              svgIcon("chevron")
            ]
          )
        ])
      );
    }
    list.appendChild(el("li", { className: "fc-inst-heading", id: "institution-heading", text: t("inst.others") }));
    INSTITUTIONS.forEach(function (inst) {
      list.appendChild(
        el("li", null, [
          el(
            "button",
            {
              type: "button",
              className: "fc-inst fc-inst-tile",
              id: "institution-" + inst.id,
              "data-testid": "institution",
              "data-institution": inst.id,
              "data-search": fold([inst.id, inst.en, inst.fr, inst.mono, inst.alias].join(" "))
            },
            [badge(inst.id), el("span", { className: "fc-inst-name", text: inst[config.language] })]
          )
        ])
      );
    });
  }

  function filterInstitutions() {
    var raw = $("institution-search").value.trim();
    var needle = fold(raw);
    var shown = 0;
    var others = 0;
    Array.prototype.forEach.call(document.querySelectorAll("#institution-list .fc-inst"), function (button) {
      var match = !needle || button.getAttribute("data-search").indexOf(needle) !== -1;
      button.parentNode.hidden = !match;
      if (match) {
        shown += 1;
        if (button.getAttribute("data-institution") !== FLINKS_CAPITAL) others += 1;
      }
    });
    $("institution-heading").hidden = others === 0 || !!needle;
    var empty = $("institution-empty");
    empty.textContent = shown ? "" : t("inst.empty", { query: raw });
    empty.hidden = shown > 0;
  }

  function showInstitutions() {
    show("institutions", config.institutionFilterEnable ? $("institution-search") : null);
    postStep("COMPONENT_LOAD_INSTITUTION_SELECTOR");
  }

  function selectInstitution(id) {
    if (state.busy || state.screen !== "institutions") return;
    state.institution = id;
    postStep("INSTITUTION_SELECTED");
    if (id !== FLINKS_CAPITAL) {
      // Only the test institution exists offline: say so politely and offer the way back.
      $("unavailable-title").textContent = t("unavailable.title", { institution: institutionName(id) });
      var holder = $("unavailable-badge");
      clear(holder);
      holder.appendChild(badge(id, "xl"));
      show("unavailable", $("unavailable-back"));
      postStep("DISABLED_INSTITUTION");
      return;
    }
    showCredentials(false);
  }

  // ---------------------------------------------------------------------------------------------
  // Screen: credentials
  // ---------------------------------------------------------------------------------------------
  function showCredentials(retry, message) {
    var name = institutionName(state.institution);
    $("credentials-title").textContent = t("cred.title", { institution: name });
    var holder = $("credentials-badge");
    clear(holder);
    holder.appendChild(badge(state.institution, "lg"));
    $("credentials-hint").hidden = state.institution !== FLINKS_CAPITAL;
    showAlert($("credentials-error"), message || "");
    setPasswordVisible(false);
    if (!retry) {
      $("username").value = "";
      $("password").value = "";
      $("username").removeAttribute("aria-invalid");
      $("password").removeAttribute("aria-invalid");
    }
    var focus = retry && $("username").value ? $("password") : $("username");
    show("credentials", focus);
    postStep(retry ? "COMPONENT_LOAD_CREDENTIAL_RETRY" : "COMPONENT_LOAD_CREDENTIAL");
  }

  function setPasswordVisible(visible) {
    var input = $("password");
    var toggle = $("password-toggle");
    input.type = visible ? "text" : "password";
    toggle.setAttribute("aria-pressed", visible ? "true" : "false");
    toggle.setAttribute("aria-label", visible ? t("cred.hideLabel") : t("cred.showLabel"));
    toggle.textContent = visible ? t("cred.hide") : t("cred.show");
  }

  function submitCredentials(event) {
    event.preventDefault();
    if (state.busy) return;
    var username = $("username").value.trim();
    var password = $("password").value;
    $("username").setAttribute("aria-invalid", username ? "false" : "true");
    $("password").setAttribute("aria-invalid", password ? "false" : "true");
    if (!username || !password) {
      showAlert($("credentials-error"), username ? t("cred.missingPassword") : t("cred.missingUsername"));
      (username ? $("password") : $("username")).focus();
      return;
    }
    showAlert($("credentials-error"), "");
    state.requestId = null; // a new attempt: its errors must not carry the last attempt's RequestId
    state.loginId = null;
    postStep("SUBMIT_CREDENTIAL");
    var button = $("submit");
    setBusy(button, true, t("cred.busy"), t("cred.submit"));
    $("username").readOnly = true;
    $("password").readOnly = true;
    authorize(
      {
        Institution: state.institution,
        Username: username,
        Password: password,
        MostRecentCached: false,
        Save: true,
        Language: config.language
      },
      true
    ).then(function (result) {
      setBusy(button, false, t("cred.busy"), t("cred.submit"));
      $("username").readOnly = false;
      $("password").readOnly = false;
      if (handleAuthorized(result)) return;
      if (result.status === 203) {
        state.requestId = result.data.RequestId || state.requestId;
        showMfa(result.data.SecurityChallenges || [], false);
        return;
      }
      credentialsFailed(result);
    });
  }

  function credentialsFailed(result) {
    var code = result.data.FlinksCode;
    if (result.data.RequestId) state.requestId = result.data.RequestId;
    if (code) postError(code, result.data.RequestId);
    var wrongCredentials = code === "INVALID_LOGIN" || code === "INVALID_PASSWORD" || code === "INVALID_USERNAME";
    if (wrongCredentials) {
      $("password").value = "";
      $("password").setAttribute("aria-invalid", "true");
      if (code !== "INVALID_PASSWORD") $("username").setAttribute("aria-invalid", "true");
    }
    if (!result.network) {
      showCredentials(true, errorMessage(result));
    } else {
      // A network failure leaves the form as it was: the same button tries again.
      showAlert($("credentials-error"), errorMessage(result));
      $("submit").focus();
    }
  }

  // A 200 from /Authorize: keep the loginId and move on. Returns false for anything else.
  function handleAuthorized(result) {
    if (result.status !== 200) return false;
    var login = result.data.Login || {};
    if (!login.Id) {
      result.data.FlinksCode = result.data.FlinksCode || "AGGREGATION_ERROR";
      return false;
    }
    state.loginId = login.Id;
    state.requestId = result.data.RequestId || state.requestId;
    afterLogin();
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Screen: MFA
  // ---------------------------------------------------------------------------------------------
  function mfaTypes() {
    var types = [];
    state.challenges.forEach(function (challenge) {
      var type = challenge.Type || "QuestionAndAnswer";
      if (types.indexOf(type) === -1) types.push(type);
    });
    return types.length ? types : ["QuestionAndAnswer"];
  }

  function suffix(index) {
    return index === 0 ? "" : "-" + index;
  }

  function showMfa(challenges, retry, message) {
    state.challenges = challenges.length ? challenges : [{ Type: "QuestionAndAnswer", Prompt: "" }];
    $("mfa-subtitle").textContent = t("mfa.subtitle", { institution: institutionName(state.institution) });
    var holder = $("mfa-badge");
    clear(holder);
    holder.appendChild(badge(state.institution, "lg"));
    var box = $("mfa-challenges");
    clear(box);
    state.challenges.forEach(function (challenge, index) {
      // Anything the bank sends is shown as plain text. Unknown challenge types are shown as their
      // prompt with a free-text answer; a list of options (Iterables) becomes radio buttons.
      var prompt = challenge.Prompt === undefined || challenge.Prompt === null ? "" : String(challenge.Prompt);
      var options = Array.isArray(challenge.Iterables) ? challenge.Iterables.filter(function (o) { return o !== null && o !== undefined; }) : [];
      var group = el("div", { className: "fc-question" }, [svgIcon("shield")]);
      if (options.length) {
        var fieldset = el("fieldset", { className: "fc-options", id: "mfa-answer" + suffix(index), "data-testid": "mfa-options" }, [
          el("legend", { className: "fc-prompt", id: "mfa-prompt" + suffix(index), "data-testid": "mfa-prompt", text: prompt })
        ]);
        options.forEach(function (option, optionIndex) {
          var id = "mfa-answer" + suffix(index) + "-option-" + optionIndex;
          fieldset.appendChild(
            el("label", { className: "fc-option", for: id }, [
              el("input", { type: "radio", id: id, name: "mfa-" + index, value: String(option), "data-testid": "mfa-option" }),
              el("span", { text: String(option) })
            ])
          );
        });
        group.appendChild(fieldset);
      } else {
        var inputId = "mfa-answer" + suffix(index);
        group.appendChild(
          el("div", { className: "fc-question-body" }, [
            el("label", { className: "fc-prompt", id: "mfa-prompt" + suffix(index), for: inputId, "data-testid": "mfa-prompt", text: prompt }),
            el("input", {
              className: "fc-input",
              type: "text",
              id: inputId,
              name: "mfa-" + index,
              "data-testid": "mfa-answer",
              autocomplete: "off",
              autocapitalize: "none",
              spellcheck: "false",
              placeholder: t("mfa.answer"),
              "aria-invalid": retry ? "true" : null
            })
          ])
        );
      }
      box.appendChild(group);
    });
    showAlert($("mfa-error"), message || "");
    var first = box.querySelector("input");
    show("mfa", first);
    postStep(retry ? "COMPONENT_LOAD_MFA_RETRY" : "COMPONENT_LOAD_MFA", { mfaTypes: mfaTypes() });
  }

  function collectAnswers() {
    var responses = {};
    var missing = null;
    state.challenges.forEach(function (challenge, index) {
      var prompt = challenge.Prompt === undefined || challenge.Prompt === null ? "" : String(challenge.Prompt);
      var answer = "";
      var target = $("mfa-answer" + suffix(index));
      if (target && target.tagName === "INPUT") {
        answer = target.value.trim();
      } else {
        var checked = document.querySelector('input[name="mfa-' + index + '"]:checked');
        answer = checked ? checked.value : "";
      }
      if (!answer && !missing) missing = target;
      responses[prompt] = [answer];
    });
    return { responses: responses, missing: missing };
  }

  function submitMfa(event) {
    event.preventDefault();
    if (state.busy) return;
    var collected = collectAnswers();
    if (collected.missing) {
      showAlert($("mfa-error"), t("mfa.missing"));
      var focusable = collected.missing.tagName === "INPUT" ? collected.missing : collected.missing.querySelector("input");
      if (focusable) focusable.focus();
      return;
    }
    showAlert($("mfa-error"), "");
    postStep("SUBMIT_MFA");
    var button = $("mfa-submit");
    setBusy(button, true, t("mfa.busy"), t("mfa.submit"));
    var inputs = document.querySelectorAll("#mfa-challenges input");
    Array.prototype.forEach.call(inputs, function (input) { input.readOnly = true; });
    authorize({ RequestId: state.requestId, SecurityResponses: collected.responses }, false).then(function (result) {
      setBusy(button, false, t("mfa.busy"), t("mfa.submit"));
      Array.prototype.forEach.call(inputs, function (input) { input.readOnly = false; });
      if (handleAuthorized(result)) return;
      if (result.status === 203) {
        // Another question (or the same one again): a fresh MFA screen.
        state.requestId = result.data.RequestId || state.requestId;
        showMfa(result.data.SecurityChallenges || [], false);
        return;
      }
      var code = result.data.FlinksCode;
      if (code) postError(code, result.data.RequestId);
      if (result.network) {
        showAlert($("mfa-error"), errorMessage(result));
        button.focus();
      } else if (code === "INVALID_SECURITY_RESPONSE" || code === "QUESTION_NOT_FOUND" ||
                 code === "UNKNOWN_CHALLENGE_KEY" || code === "SECURITYRESPONSES_INCOMPLETE") {
        showMfa(state.challenges, true, t("error.INVALID_SECURITY_RESPONSE"));
      } else {
        // The session cannot go on (no retry left, expired...): sign in again.
        showCredentials(true, errorMessage(result));
      }
    });
  }

  // ---------------------------------------------------------------------------------------------
  // Screen: consent (first, as in Flinks Connect: before the institution is chosen)
  // ---------------------------------------------------------------------------------------------
  function customer() {
    return config.customerName || t("consent.defaultCustomer");
  }

  function showConsent() {
    // The integrator's name where a sentence starts, and where it goes on ("this application").
    var names = { customer: customer(), customerInline: config.customerName || t("consent.defaultCustomerInline") };
    $("consent-title").textContent = t("consent.title", names);
    $("consent-intro").textContent = t("consent.intro", names);
    $("consent-privacy").textContent = t("consent.privacy", names);
    $("consent-list").setAttribute("aria-label", t("consent.listLabel", names));
    var mark = $("consent-customer-badge");
    clear(mark);
    // The integrator's monogram; with no customerName, an application glyph rather than "TA".
    if (config.customerName) mark.textContent = monogram(config.customerName);
    else mark.appendChild(svgIcon("app"));
    $("consent-statements").hidden = !config.detailsAndStatementEnable;
    show("consent");
    postStep("COMPONENT_LOAD_CONSENT");
  }

  function monogram(name) {
    var words = String(name).replace(/[^\p{L}\p{N}\s]/gu, " ").trim().split(/\s+/).filter(Boolean);
    if (!words.length) return "•";
    return (words.length === 1 ? words[0].slice(0, 2) : words[0][0] + words[1][0]).toUpperCase();
  }

  function acceptConsent() {
    if (state.screen !== "consent") return;
    postStep("COMPONENT_ACCEPT_CONSENT");
    showInstitutions();
  }

  function denyConsent() {
    if (state.screen !== "consent") return;
    postStep("COMPONENT_DENY_CONSENT");
    $("denied-text").textContent = t("denied.text", { customer: customer() });
    show("denied");
  }

  // After a 200 from /Authorize: the account selection, or straight to the redirect.
  function afterLogin() {
    if (config.accountSelectorEnable) showAccounts();
    else finish();
  }

  // ---------------------------------------------------------------------------------------------
  // Screen: account selection (accountSelectorEnable; several with accountSelectorMultiple)
  // ---------------------------------------------------------------------------------------------
  function money(amount, currency) {
    if (amount === null || amount === undefined || amount === "" || isNaN(Number(amount))) return "—";
    try {
      return new Intl.NumberFormat(locale, { style: "currency", currency: currency || "CAD" }).format(Number(amount));
    } catch (e) {
      return new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(Number(amount)) +
        " " + String(currency || "");
    }
  }

  function maskedNumber(account) {
    var digits = String(account.LastFourDigits || account.AccountNumber || "").replace(/[^0-9A-Za-z]/g, "");
    return digits ? "••••\u00a0" + digits.slice(-4) : "";
  }

  function typeLabel(type) {
    if (!type) return "";
    var key = "type." + type;
    return STRINGS.en[key] ? t(key) : String(type);
  }

  // What the selector lists: operations accounts only unless showAllAccounts (as Flinks does; an
  // account without a Category is listed), in the currencies of accountSelectorCurrency if given.
  function selectable(account) {
    if (!config.showAllAccounts && account.Category && account.Category !== "Operations") return false;
    var currency = String(account.Currency || "").toUpperCase();
    return !config.accountSelectorCurrency.length || config.accountSelectorCurrency.indexOf(currency) !== -1;
  }

  function showAccounts() {
    var multiple = config.accountSelectorMultiple;
    $("accounts-title").textContent = t(multiple ? "accounts.titleMultiple" : "accounts.title");
    $("accounts-subtitle").textContent = t(multiple ? "accounts.subtitleMultiple" : "accounts.subtitle");
    var holder = $("accounts-badge");
    clear(holder);
    holder.appendChild(badge(state.institution, "lg"));
    $("account-continue").disabled = true;
    $("accounts-toolbar").hidden = true;
    clear($("account-list"));
    showAlert($("accounts-error"), "");
    $("accounts-retry").hidden = true;
    $("accounts-loading").hidden = false;
    show("accounts");
    loadAccounts();
  }

  function loadAccounts() {
    $("accounts-loading").hidden = false;
    $("accounts-retry").hidden = true;
    showAlert($("accounts-error"), "");
    var url = new URL("session/accounts", window.location.href).pathname;
    postJson(url, { RequestId: state.requestId }).then(function (result) {
      $("accounts-loading").hidden = true;
      if (result.status !== 200 || !Array.isArray(result.data.Accounts)) {
        if (result.data.FlinksCode) postError(result.data.FlinksCode, result.data.RequestId);
        showAlert($("accounts-error"), errorMessage(result));
        $("accounts-retry").hidden = false;
        $("accounts-retry").focus();
        return;
      }
      var all = result.data.Accounts.filter(function (a) { return a && typeof a === "object" && a.Id; });
      state.accounts = all.filter(selectable);
      renderAccounts(all.length);
      postStep("COMPONENT_LOAD_ACCOUNT_SELECTION", {
        totalAccounts: result.data.Accounts.length,
        displayedAccounts: state.accounts.length
      });
    });
  }

  function renderAccounts(total) {
    var multiple = config.accountSelectorMultiple;
    var list = $("account-list");
    clear(list);
    list.appendChild(el("legend", { className: "fc-sr-only", text: t("accounts.listLabel") }));
    if (!state.accounts.length) {
      list.appendChild(el("p", { className: "fc-empty", id: "accounts-empty", text: t(total ? "accounts.noneEligible" : "accounts.none") }));
      $("account-continue").disabled = true;
      $("accounts-toolbar").hidden = true;
      return;
    }
    state.accounts.forEach(function (account, index) {
      var id = "account-" + index;
      var balance = account.Balance || {};
      var current = balance.Current !== null && balance.Current !== undefined ? balance.Current : balance.Available;
      var meta = [typeLabel(account.Type), maskedNumber(account)].filter(Boolean).join(" · ");
      var available = balance.Available !== null && balance.Available !== undefined && balance.Available !== current
        ? t("accounts.available", { amount: money(balance.Available, account.Currency) })
        : "";
      list.appendChild(
        el("label", { className: "fc-account" + (multiple ? " fc-account-multi" : ""), for: id }, [
          el("input", {
            type: multiple ? "checkbox" : "radio",
            name: "account",
            id: id,
            value: String(account.Id),
            "data-testid": "account-option",
            "data-account-id": String(account.Id)
          }),
          el("span", { className: multiple ? "fc-check" : "fc-radio", "aria-hidden": "true" }, multiple ? [svgIcon("check")] : null),
          el("span", { className: "fc-account-main" }, [
            el("span", { className: "fc-account-title", text: String(account.Title || typeLabel(account.Type) || "") }),
            el("span", { className: "fc-account-meta", text: meta })
          ]),
          el("span", { className: "fc-account-balance" }, [
            el("span", { className: "fc-account-amount", text: money(current, account.Currency) }),
            available ? el("span", { className: "fc-account-meta", text: available }) : null
          ])
        ])
      );
    });
    $("accounts-toolbar").hidden = !multiple;
    updateAccountSelection();
  }

  function chosenAccounts() {
    return Array.prototype.map.call(document.querySelectorAll('#account-list input[name="account"]:checked'), function (input) {
      return input.value;
    });
  }

  function updateAccountSelection() {
    var chosen = chosenAccounts().length;
    var boxes = document.querySelectorAll('#account-list input[name="account"]').length;
    $("account-continue").disabled = chosen === 0;
    if (!config.accountSelectorMultiple) return;
    $("accounts-count").textContent = chosen === 0 ? t("accounts.selectedNone")
      : chosen === 1 ? t("accounts.selectedOne") : t("accounts.selectedMany", { count: chosen });
    var all = boxes > 0 && chosen === boxes;
    var toggle = $("accounts-select-all");
    toggle.textContent = t(all ? "accounts.clearAll" : "accounts.selectAll");
    toggle.setAttribute("aria-pressed", all ? "true" : "false");
  }

  function toggleAllAccounts() {
    var inputs = document.querySelectorAll('#account-list input[name="account"]');
    var all = inputs.length > 0 && chosenAccounts().length === inputs.length;
    Array.prototype.forEach.call(inputs, function (input) { input.checked = !all; });
    updateAccountSelection();
  }

  function continueWithAccount() {
    if (state.screen !== "accounts") return;
    var chosen = chosenAccounts();
    if (!chosen.length) return;
    // One account: its id. With accountSelectorMultiple: the list of ids, even for one.
    state.accountId = config.accountSelectorMultiple ? chosen : chosen[0];
    postStep("ACCOUNT_SELECTED", { accountId: state.accountId });
    finish();
  }

  // ---------------------------------------------------------------------------------------------
  // Success and redirect
  // ---------------------------------------------------------------------------------------------
  function withLogin(base) {
    var hash = "";
    var hashAt = base.indexOf("#");
    if (hashAt !== -1) {
      hash = base.slice(hashAt);
      base = base.slice(0, hashAt);
    }
    var separator = base.indexOf("?") === -1 ? "?" : /[?&]$/.test(base) ? "" : "&";
    return base + separator + "loginId=" + encodeURIComponent(state.loginId) +
      "&institution=" + encodeURIComponent(state.institution) +
      accountParameter() +
      (config.tag ? "&tag=" + encodeURIComponent(config.tag) : "") + hash;
  }

  // "&accountId=ID" after an account selection; several ids comma-separated, as Flinks does.
  function accountParameter() {
    if (state.accountId === null) return "";
    var ids = Array.isArray(state.accountId) ? state.accountId : [state.accountId];
    return "&accountId=" + ids.map(encodeURIComponent).join(",");
  }

  function finish() {
    // With no redirectUrl there is nowhere to go: the REDIRECT event still carries a URL with the
    // loginId and institution (the sandbox's own done.html beside this page, which says the
    // connection is complete), and the page stays on its success screen instead of navigating.
    var target = config.redirectUrl || new URL("done.html", window.location.href).href.split("?")[0];
    var url = withLogin(target);
    var name = institutionName(state.institution);
    var count = Array.isArray(state.accountId) ? state.accountId.length : 1;
    var key = (count > 1 ? "success.textMany" : "success.text") + (config.customerName ? "Customer" : "");
    $("success-text").textContent = t(key, { institution: name, customer: config.customerName, count: count });
    var link = $("success-continue");
    if (config.redirectUrl) {
      link.href = url;
      link.target = config.innerRedirect ? "_self" : "_top";
      link.hidden = false;
      $("success-status").textContent = t("success.redirecting");
    } else {
      link.hidden = true;
      $("success-status").textContent = t("success.done");
    }
    show("success");
    var redirect = { url: url };
    if (state.accountId !== null) redirect.accountId = state.accountId;
    postStep("REDIRECT", redirect);
    if (config.redirectUrl) {
      state.redirectTimer = window.setTimeout(function () { navigate(url); }, REDIRECT_PAUSE_MS);
    }
  }

  function navigate(url) {
    if (config.innerRedirect) {
      window.location.href = url;
      return;
    }
    try {
      // The embedding page may intercept (or forbid) this navigation: the REDIRECT event has
      // already been posted, and the Continue link remains for a person to click.
      window.top.location.href = url;
    } catch (e) {
      /* cross-origin top navigation refused: the Continue link is the way out */
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Start
  // ---------------------------------------------------------------------------------------------
  function applyText() {
    document.documentElement.lang = config.language;
    document.title = t("doc.title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (node) {
      node.textContent = t(node.getAttribute("data-i18n"));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-placeholder]"), function (node) {
      node.setAttribute("placeholder", t(node.getAttribute("data-i18n-placeholder")));
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n-aria-label]"), function (node) {
      node.setAttribute("aria-label", t(node.getAttribute("data-i18n-aria-label")));
    });
  }

  function luminance(hex) {
    var h = hex.slice(1);
    if (h.length === 3) h = h[0] + h[0] + h[1] + h[1] + h[2] + h[2];
    var rgb = [0, 2, 4].map(function (i) {
      var c = parseInt(h.slice(i, i + 2), 16) / 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
  }

  function applyTheme() {
    var root = document.documentElement.style;
    if (config.foregroundColor1) {
      root.setProperty("--fc-primary", config.foregroundColor1);
      root.setProperty("--fc-on-primary", luminance(config.foregroundColor1) > 0.45 ? "#0f172a" : "#ffffff");
    }
    if (config.backgroundColor) {
      root.setProperty("--fc-backdrop", config.backgroundColor);
    }
  }

  function wire() {
    $("institution-list").addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".fc-inst") : null;
      if (button) selectInstitution(button.getAttribute("data-institution"));
    });
    $("institution-search").addEventListener("input", filterInstitutions);
    $("institution-search").addEventListener("keydown", function (event) {
      if (event.key !== "Enter") return;
      event.preventDefault();
      var visible = document.querySelectorAll("#institution-list li:not([hidden]) .fc-inst");
      if (visible.length === 1) selectInstitution(visible[0].getAttribute("data-institution"));
    });
    $("back").addEventListener("click", function () {
      if (!state.busy) showInstitutions();
    });
    $("unavailable-back").addEventListener("click", showInstitutions);
    $("close").addEventListener("click", function () {
      postStep("COMPONENT_CLOSE_SESSION");
    });
    $("credentials-form").addEventListener("submit", submitCredentials);
    $("password-toggle").addEventListener("click", function () {
      setPasswordVisible($("password").type === "password");
    });
    $("mfa-form").addEventListener("submit", submitMfa);
    $("consent-accept").addEventListener("click", acceptConsent);
    $("consent-deny").addEventListener("click", denyConsent);
    $("account-list").addEventListener("change", updateAccountSelection);
    $("accounts-select-all").addEventListener("click", toggleAllAccounts);
    $("account-continue").addEventListener("click", continueWithAccount);
    $("accounts-retry").addEventListener("click", loadAccounts);
    $("denied-restart").addEventListener("click", showConsent);
    $("success-continue").addEventListener("click", function () {
      if (state.redirectTimer) window.clearTimeout(state.redirectTimer);
    });
    window.addEventListener("online", function () { postStep("APP_ONLINE"); });
    window.addEventListener("offline", function () { postStep("APP_OFFLINE"); });
  }

  function start() {
    applyText();
    applyTheme();
    $("close").hidden = !config.closeEnable;
    $("header-title").hidden = !config.headerEnable;
    $("header-lock").hidden = !config.headerImgEnable;
    $("search-box").hidden = !config.institutionFilterEnable;
    buildInstitutions();
    filterInstitutions();
    wire();
    document.body.classList.add("fc-ready");
    postStep("APP_MOUNTED");
    if (config.consentEnable) showConsent();
    else showInstitutions();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
