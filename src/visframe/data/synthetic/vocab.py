"""The Spanish words of the corpus: chants, hashtags, notices, names, places, captions, alt texts.

Written after the kinds of text the anti-feminicide protest posts carry (slogans of the marches,
collective communiqués, search posters). Names of people are invented combinations, not victims.
What the images' text says, the seven messages and their phrasings, is in messages.py.
"""

from __future__ import annotations

# Chants of the marches that name none of the seven messages (messages.py): a caption quotes one
# when its image shows no text.
CHANTS = (
    "NI UNA MÁS",
    "NI UNA MENOS",
    "¡VIVAS NOS QUEREMOS!",
    "NOS QUEREMOS VIVAS, LIBRES Y SIN MIEDO",
    "NI PERDÓN NI OLVIDO",
    "SOMOS EL GRITO DE LAS QUE YA NO ESTÁN",
    "LA REVOLUCIÓN SERÁ FEMINISTA",
    "NO NOS CALLARÁN",
    "QUE EL MIEDO CAMBIE DE BANDO",
    "¡JUSTICIA!",
    "NUESTRA MEMORIA NO SE NEGOCIA",
    "¡NI UNA MÁS, NI UNA MENOS!",
)

SEARCH_TAGS = ("NiUnaMenos", "NiUnaMás", "8M", "25N", "VivasNosQueremos", "Feminicidio")

# The hashtag a post was found under, by genre: announcement graphics and march photos cluster
# around the two dates, search posters and communiqués around the feminicide tags.
SEARCH_TAG_WEIGHTS = {
    "text_statement": (3, 3, 1, 1, 2, 1),
    "memo_notice": (2, 2, 2, 2, 1, 3),
    "purple_overlay": (2, 2, 2, 2, 2, 1),
    "hashtag_graphic": (2, 1, 5, 4, 1, 0.5),
    "illustration": (2, 2, 3, 2, 2, 0.5),
    "photo_protest": (1, 1, 6, 3, 2, 0.5),
    "photo_portrait": (1, 1, 4, 2, 3, 0.5),
    "missing_person_poster": (4, 2, 0.5, 0.5, 1, 3),
    "landmark": (1, 1, 4, 3, 1, 0.5),
}

GRAPHIC_HASHTAGS = {
    "NiUnaMenos": ("#NiUnaMenos", "#NiUnaMenos", "#NoEstásSola"),
    "NiUnaMás": ("#NiUnaMás", "#NiUnaMás", "#JusticiaParaTodas"),
    "8M": ("#8M", "#8M", "#8M2020", "#UnDíaSinNosotras", "#9M"),
    "25N": ("#25N", "#25N", "#25N2019", "#NosQueremosVivas"),
    "VivasNosQueremos": ("#VivasNosQueremos", "#VivasNosQueremos", "#NosQueremosVivas"),
    "Feminicidio": ("#NiUnaMás", "#NiUnaMenos", "#JusticiaParaTodas"),
}

EXTRA_TAGS = {
    "text_statement": ("Feminismo", "NoEstásSola", "JusticiaParaTodas", "México"),
    "memo_notice": ("Comunicado", "Pronunciamiento", "AlertaDeGénero", "CDMX"),
    "purple_overlay": ("Feminismo", "MarchaFeminista", "8M2020", "NoEstásSola"),
    "hashtag_graphic": ("MarchaFeminista", "UnDíaSinNosotras", "9M", "ParoNacional"),
    "illustration": ("ArteFeminista", "Ilustración", "ArteYResistencia", "Feminismo"),
    "photo_protest": ("MarchaFeminista", "CDMX", "Fotoperiodismo", "8M2020", "25N2019"),
    "photo_portrait": ("MarchaFeminista", "Feminista", "Hermanas", "8M2021"),
    "missing_person_poster": (
        "SeBusca",
        "AlertaAlba",
        "ProtocoloAlba",
        "FichaDeBúsqueda",
        "AyúdanosAEncontrarla",
    ),
    "landmark": ("Antimonumenta", "ÁngelDeLaIndependencia", "CDMX", "MuroDeLaMemoria"),
}

# Date lines under a hashtag, keyed by the date the hashtag names ("any" for the general tags).
HASHTAG_DATE_LINES = {
    "march": (
        "8 DE MARZO",
        "DÍA INTERNACIONAL DE LA MUJER",
        "9 DE MARZO · UN DÍA SIN NOSOTRAS",
        "MARCHA 8 DE MARZO · 16:00 H · ÁNGEL DE LA INDEPENDENCIA",
        "PARO NACIONAL DE MUJERES",
    ),
    "november": (
        "25 DE NOVIEMBRE",
        "DÍA INTERNACIONAL DE LA ELIMINACIÓN DE LA VIOLENCIA CONTRA LA MUJER",
        "CONCENTRACIÓN 25 DE NOVIEMBRE · 17:00 H · MONUMENTO A LA REVOLUCIÓN",
    ),
    "any": (
        "8 DE MARZO",
        "25 DE NOVIEMBRE",
        "TODOS LOS DÍAS",
        "MARCHA 16:00 H · ÁNGEL DE LA INDEPENDENCIA",
        "ANTIMONUMENTA · AV. JUÁREZ",
        "NI UNA MÁS",
    ),
}


MEMO_TITLES = (
    "COMUNICADO",
    "PRONUNCIAMIENTO",
    "A LA OPINIÓN PÚBLICA",
    "POSICIONAMIENTO",
    "COMUNICADO URGENTE",
    "CARTA ABIERTA",
    "A LOS MEDIOS DE COMUNICACIÓN",
    "AVISO IMPORTANTE",
)

POSTER_HEADERS = (
    "¡AYÚDANOS A ENCONTRARLA!",
    "SE BUSCA",
    "¿LA HAS VISTO?",
    "DESAPARECIDA",
    "ALERTA ALBA",
    "FICHA DE BÚSQUEDA",
)

FIRST_NAMES = (
    "María",
    "Fernanda",
    "Guadalupe",
    "Ximena",
    "Daniela",
    "Valeria",
    "Sofía",
    "Andrea",
    "Karla",
    "Itzel",
    "Abril",
    "Mariana",
    "Diana",
    "Paola",
    "Brenda",
    "Yesenia",
    "Ana Karen",
    "Jimena",
    "Citlali",
    "Nayeli",
    "Lucía",
    "Renata",
    "Estefanía",
    "Rocío",
    "Montserrat",
    "Begoña",
    "Iñés",
)

SURNAMES = (
    "Hernández",
    "García",
    "Martínez",
    "López",
    "González",
    "Pérez",
    "Rodríguez",
    "Sánchez",
    "Ramírez",
    "Cruz",
    "Flores",
    "Gómez",
    "Morales",
    "Vázquez",
    "Jiménez",
    "Reyes",
    "Díaz",
    "Torres",
    "Ruiz",
    "Mendoza",
    "Ortiz",
    "Núñez",
    "Castañeda",
    "Peña",
    "Ibáñez",
    "Muñoz",
)

PLACES = (
    "Ecatepec, Edo. Méx.",
    "Nezahualcóyotl, Edo. Méx.",
    "Iztapalapa, CDMX",
    "Coyoacán, CDMX",
    "Guadalajara, Jal.",
    "Monterrey, N.L.",
    "Puebla, Pue.",
    "Oaxaca de Juárez, Oax.",
    "Ciudad Juárez, Chih.",
    "Toluca, Edo. Méx.",
    "Xalapa, Ver.",
    "Mérida, Yuc.",
    "Querétaro, Qro.",
    "León, Gto.",
    "Tijuana, B.C.",
    "Cuernavaca, Mor.",
)

CITY_HANDLES = (
    "cdmx",
    "edomex",
    "gdl",
    "mty",
    "puebla",
    "oaxaca",
    "juarez",
    "toluca",
    "xalapa",
    "merida",
    "qro",
    "leon",
    "tijuana",
    "ecatepec",
    "neza",
    "iztapalapa",
    "coyoacan",
    "morelos",
)

DISTINGUISHING_MARKS = (
    "lunar en la mejilla izquierda",
    "cicatriz en la ceja derecha",
    "tatuaje de flor en el brazo",
    "cabello rizado castaño",
    "usa lentes de armazón negro",
    "perforación en la nariz",
    "mancha de nacimiento en el cuello",
    "frenos en los dientes",
)

# Account handles: the kind of account decides which genres it favours (see plan.ACCOUNT_KINDS).
HANDLE_PREFIXES = (
    "colectiva",
    "red",
    "mujeres",
    "brujas",
    "morras",
    "feministas",
    "voces",
    "marea",
    "somos",
    "hermanas",
    "colectivo",
    "frente",
    "asamblea",
    "jovenes",
)
HANDLE_CORES = (
    "morada",
    "moradas",
    "en_lucha",
    "libres",
    "unidas",
    "del_sur",
    "insumisas",
    "de_la_memoria",
    "violeta",
    "rebeldes",
    "sin_miedo",
    "que_luchan",
    "vivas",
    "autonomas",
    "de_la_calle",
    "organizadas",
)
HANDLE_SUFFIXES = ("", "", "_mx", "_cdmx", "_gdl", "_oax", "_pue", "_mty", "_edomex", ".mx", "_feminista")
MEDIA_PREFIXES = ("noticias", "diario", "reportera", "foto.periodismo", "cronica", "medio.libre")
ARTIST_PATTERNS = ("ilustra.{name}", "{name}_dibuja", "arte.{core}", "{name}.ilustraciones", "trazos_{core}")
SEARCHER_PATTERNS = (
    "buscadoras_{city}",
    "madres_buscadoras_{city}",
    "hasta_encontrarlas_{city}",
    "fichas_busqueda_{city}",
)

EMOJI = ("💜", "💚", "✊", "✊🏽", "🔥", "🟣", "🕯️", "🌹", "📢", "⚠️", "🙏", "💪🏾", "🖤", "📸", "🚨")

CAPTION_BODIES = {
    "text_statement": (
        "{headline_sc} {emoji}",
        "Lo repetiremos hasta que nos escuchen: {headline_lc}.",
        "Ni una más. Ni una menos. {emoji}",
        "Compartan, por favor {emoji}",
        "Hoy y siempre: {headline_lc} {emoji}",
    ),
    "memo_notice": (
        "Compartimos nuestro pronunciamiento ante los hechos ocurridos en {place}. 📢",
        "Lee y comparte nuestro comunicado. La información también es autodefensa.",
        "Posicionamiento de las colectivas sobre la marcha del {date}.",
        "Aviso importante para la jornada del {date}. Cuídense mucho {emoji}",
    ),
    "purple_overlay": (
        "{headline_sc} {emoji}",
        "Nos vemos en las calles este {date} {emoji}",
        "Por todas las que ya no están. {emoji}",
        "Difunde y acompáñanos {emoji}",
    ),
    "hashtag_graphic": (
        "Este {date} salimos a las calles {emoji}",
        "Nos vemos en la marcha. ¡Todas a la calle! {emoji}",
        "¿Vas a marchar? Ve acompañada {emoji}",
        "Convocatoria para el {date} {emoji}",
    ),
    "illustration": (
        "Ilustración para el {date} 🎨{emoji}",
        "Dibujo en memoria de todas las que nos faltan 🌹",
        "Arte para la lucha. Descarga, imprime y comparte {emoji}",
        "Hice esto pensando en mis hermanas {emoji}",
    ),
    "photo_protest": (
        "Así se vivió la marcha en {place} 📸",
        "Miles de mujeres marcharon hoy. {emoji}",
        "Fotos de la marcha del {date}. {emoji}",
        "La calle es nuestra. {emoji}",
    ),
    "photo_portrait": (
        "Marché por mí y por todas {emoji}",
        "Mi primera marcha {emoji}",
        "Con mis amigas, siempre 💚💜",
        "Aquí seguimos, vivas {emoji}",
    ),
    "missing_person_poster": (
        "🚨 ¡Ayúdanos a encontrarla! {name} desapareció en {place}. Comparte.",
        "Se busca a {name}. Cualquier información es importante 🙏",
        "Alerta Alba: {name}. Si la has visto, comunícate de inmediato.",
        "Seguimos buscando a {name}. No la olvidamos {emoji}",
    ),
    "landmark": (
        "El Ángel amaneció así {emoji}",
        "La Antimonumenta sigue en pie. {emoji}",
        "Las vallas se llenaron de nombres. Ni una más.",
        "Memoria en {place} {emoji}",
    ),
}

CAPTION_CLOSERS = (
    "",
    "",
    "Comparte 💜",
    "¡Ni una más!",
    "#VivasNosQueremos es más que un hashtag.",
    "Síguenos para más información.",
    "Link en la bio.",
)

DATES_TEXT = ("8 de marzo", "25 de noviembre", "9 de marzo", "8M", "25N")

# Instagram's automatic alternative text, in Spanish ("Puede ser una imagen de …").
ALT_BY_GENRE = {
    "text_statement": ('Puede ser una imagen de texto que dice "{text}".',),
    "memo_notice": ('Puede ser una imagen de texto que dice "{text}".', "Puede ser una imagen de texto."),
    "purple_overlay": (
        'Puede ser una imagen de 1 persona y texto que dice "{text}".',
        "Puede ser una imagen de texto.",
    ),
    "hashtag_graphic": ('Puede ser una imagen de texto que dice "{text}".',),
    "illustration": (
        "Puede ser una ilustración.",
        "Puede ser un dibujo de 1 persona.",
        "Puede ser una ilustración de flor.",
    ),
    "photo_protest": (
        "Puede ser una imagen de multitud y aire libre.",
        "Puede ser una imagen de {n} personas, personas de pie y calle.",
        'Puede ser una imagen de multitud y texto que dice "{text}".',
    ),
    "photo_portrait": (
        "Puede ser una imagen de 1 persona y primer plano.",
        "Puede ser una selfie de 1 persona.",
    ),
    "missing_person_poster": ('Puede ser una imagen de 1 persona y texto que dice "{text}".',),
    "landmark": ("Puede ser una imagen de monumento y cielo.", "Puede ser una imagen de aire libre."),
}

WRITTEN_ALT = {
    "text_statement": "Fondo liso con la frase {text} en letras grandes.",
    "memo_notice": "Comunicado en texto; el título dice {headline}.",
    "purple_overlay": "Cartel morado con una fotografía y el texto {text}.",
    "hashtag_graphic": "Gráfico con el texto {text}.",
    "illustration": "Ilustración en colores planos.",
    "photo_protest": "Fotografía de la marcha feminista.",
    "photo_portrait": "Retrato de una mujer en la marcha.",
    "missing_person_poster": "Ficha de búsqueda: {headline}.",
    "landmark": "Fotografía de un monumento durante la protesta.",
}

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="es" class="no-js not-logged-in">
<head>
<meta charset="utf-8">
<title>Iniciar sesión • Instagram</title>
<meta name="robots" content="noimageindex, noarchive">
<script type="text/javascript">window._sharedData = {{"config":{{"csrf_token":"{token}","viewer":null}},\
"entry_data":{{"LoginAndSignupPage":[{{}}]}}}};</script>
</head>
<body>
<div id="react-root"><span>Inicia sesión para ver fotos y videos de tus amigos.</span>
<p>Debes iniciar sesión para continuar.</p>
<a href="/accounts/login/?next={next_path}">Iniciar sesión</a></div>
</body>
</html>
"""
