"""The seven messages the study's coders found by reading the posters, and the phrasings that say them.

The study (anti-feminicide protest posts on Instagram) read the text of the images by hand and found
seven recurring messages: comparisons of women's and men's lives, accusations of the authorities, a
victim's life story, domestic violence, gender violence in general, calls to protest and solidarity.
Every synthetic image that carries text says one of them (`message`, a key below), in one of the
phrasings written for it here, so a tool that groups images by what their text says can be scored.

The phrasings are written to vary as real posters do, not as one template with a word swapped:
slogans shouted on banners, first-person lines, questions, rhymes of the marches, figures, names and
dates, and paragraphs in the register of a collective's communiqué. They avoid giving a topic one
telltale word in every phrasing, and only a few carry a hashtag. Names are invented, not victims'.

Which phrasings a genre may draw depends on how much text it holds: a banner in a march photo, a
hand-held sign, a painted fence, the line under a hashtag or on a search poster take the short ones
(`SHORT_MAX` characters); purple cards and illustrations a little more (`CARD_MAX`); text
statements anything up to `STATEMENT_MAX`, a short paragraph included; a communiqué's body takes
the longer ones (`MEMO_MIN` and up), in its own register. The message itself is drawn independently
of the genre (plan.py); only the phrasing depends on the space.
"""

from __future__ import annotations

from collections.abc import Sequence

SHORT_MAX = 48  # characters: banners, signs, fences, the line under a hashtag or on a search poster
CARD_MAX = 65  # characters: the text of a purple card or an illustration
STATEMENT_MAX = 130  # characters: a slogan or a short paragraph filling a plain background
MEMO_MIN = 49  # characters: a communiqué says its message in full sentences

PHRASINGS: dict[str, tuple[str, ...]] = {
    "woman_man_comparison": (
        "Él llegó a casa. Ella no.",
        "Mismo trabajo que ellos, menos salario",
        "A él le enseñaron a mandar; a mí, a callar",
        "¿A él quién le pregunta cómo iba vestido?",
        "Nadie le pide a un hombre que avise al llegar",
        "Él es líder; yo soy mandona",
        "Ellos pierden privilegios; nosotras, la vida",
        "Mi hermano sale de noche. Yo pido permiso.",
        "En casa, él descansa y ella trabaja doble",
        "Ni más ni menos que ellos: iguales",
        "Él es «un hombre de éxito»; ella, «la esposa de»",
        "Los hombres temen que las mujeres se rían de ellos. Las mujeres temen que los hombres las maten.",
        "Él camina tranquilo de noche. Yo camino con las llaves entre los dedos.",
        "Cuando un hombre desaparece, lo buscan; cuando desaparece una mujer, preguntan con quién andaba.",
        (
            "Por el mismo empleo ellas cobran menos, y al volver a casa las esperan los hijos, la comida y "
            "los cuidados."
        ),
        "A las niñas se les enseña a cuidarse; a los niños, casi nunca a respetar.",
        (
            "A mi hermano nunca le dijeron que mandara su ubicación al llegar, que no tomara taxi solo ni "
            "que cuidara su bebida. A mí me lo repiten desde los doce años. No queremos más consejos: "
            "queremos que eduquen a sus hijos."
        ),
        (
            "Las mujeres dedicamos más del doble de horas que los hombres al trabajo de cuidados sin recibir "
            "pago, y aun así ganamos menos por el mismo empleo. Esa desigualdad no es natural: es una "
            "decisión política que se puede cambiar."
        ),
        (
            "Si un hombre llega tarde, nadie se alarma. Si una mujer llega tarde, su madre ya llamó a todas "
            "sus amigas, revisó su ubicación y rezó. Vivimos en el mismo país, pero no con el mismo miedo."
        ),
    ),
    "authorities_accused": (
        "El Estado es cómplice",
        "Fue el Estado",
        "¡Fiscalía, haz tu trabajo!",
        "Cuidan sus vallas, no nuestras vidas",
        "La impunidad también mata",
        "Me cuidan mis amigas, no la policía",
        "No es omisión: es complicidad",
        "¿Dónde estaba la policía?",
        "Señor gobernador: su silencio nos mata",
        "Ni la Fiscalía ni el gobierno nos protegen",
        "El Estado opresor es un macho violador",
        "Queremos justicia, no pésames del gobierno",
        "Exigimos la destitución de los funcionarios que fueron omisos en la búsqueda.",
        "La alerta de género se declaró hace años y el gobierno no ha movido un dedo.",
        "Nueve de cada diez feminicidios siguen sin sentencia. La impunidad es política de Estado.",
        "Los policías que debían protegernos fueron quienes nos encapsularon y nos golpearon.",
        (
            "Las colectivas abajo firmantes denunciamos la falta de respuesta de las autoridades. La "
            "Fiscalía filtró fotografías de la víctima, revictimizó a su familia y, meses después, no hay "
            "una sola persona detenida."
        ),
        (
            "Responsabilizamos al Estado de la integridad física de nuestras compañeras. No permitiremos que "
            "se criminalice la protesta mientras los agresores siguen libres y los expedientes se empolvan "
            "en los escritorios del Ministerio Público."
        ),
        (
            "En la Fiscalía le dijeron a la familia que seguramente se había ido con el novio. Perdieron las "
            "primeras 72 horas, las más importantes de la búsqueda. Esa negligencia tiene nombres y cargos, "
            "y exigimos que respondan por ella."
        ),
    ),
    "victim_story": (
        "Tenía 23 años y quería ser maestra",
        "Salió a trabajar y nunca volvió",
        "Le encantaba bailar cumbia con su abuela",
        "Estudiaba enfermería. Tenía sueños.",
        "Su hija de cuatro años todavía la espera",
        "Iba a cumplir 17 en diciembre",
        "Vendía tamales para pagar la universidad",
        "Era hija, hermana, amiga. No es una cifra.",
        "Mamá de dos, costurera, vecina de Ecatepec",
        "Soñaba con abrir su propia estética",
        "Se llamaba Abril y pintaba girasoles",
        "Nunca llegó a su graduación",
        (
            "Tenía 19 años, estudiaba Derecho y los fines de semana atendía una cafetería. El 14 de febrero "
            "salió de su casa y ya no regresó."
        ),
        "Le decían la Güera. Jugaba futbol en la liga del barrio y quería ser paramédica.",
        (
            "Su mamá guarda el uniforme de la secundaria y la mochila con sus cuadernos de dibujo, tal como "
            "los dejó."
        ),
        (
            "Lupita tenía 32 años. Era madre de tres niños, vendía comida afuera de la secundaria y los "
            "domingos cantaba en el coro de su parroquia. Un martes salió rumbo al mercado y la encontraron "
            "dos días después. Su familia quiere que la recuerden como la mujer alegre que fue."
        ),
        (
            "Mariel estudiaba diseño gráfico, dibujaba a sus amigas en las servilletas del café y soñaba con "
            "tener su propio taller. Tenía 25 años cuando le arrebataron la vida. Hoy sus compañeras pintan "
            "sus dibujos en las paredes de la facultad."
        ),
        (
            "Era la primera de su familia en ir a la universidad. Trabajaba de noche en una tienda para "
            "pagar el camión y las copias. Sus hermanitos la esperaban despiertos. Lo último que le escribió "
            "a su mamá fue: ya voy para allá."
        ),
    ),
    "domestic_violence": (
        "El agresor duerme en casa",
        "Mi casa no era un lugar seguro",
        "El amor no duele, no golpea, no mata",
        "Si te cela y te aísla, no es amor",
        "No es un pleito de pareja: es violencia",
        "Quédate en casa, ¿y si ahí vive tu agresor?",
        "Él decía que me amaba mientras me golpeaba",
        "Lo que pasa en casa no es asunto privado",
        "Papá, tus gritos también eran violencia",
        "Revisar tu celular no es cuidarte",
        "Ni golpes que duelan ni palabras que hieran",
        "#QuédateEnCasa no es seguro para todas",
        (
            "Durante la cuarentena aumentaron las llamadas de auxilio. Para muchas mujeres, quedarse en casa "
            "es quedarse con su agresor."
        ),
        "Si tu pareja te insulta, te controla el dinero o te prohíbe ver a tu familia, no estás exagerando.",
        "Primero fueron los celos, luego los insultos, después el primer empujón. Así empieza.",
        (
            "La violencia familiar no empieza con un golpe: empieza con revisar tu celular, con prohibirte "
            "ver a tus amigas, con controlar tu dinero y tu ropa. Después vienen los gritos y los empujones. "
            "Si te reconoces en esto, no esperes a que escale."
        ),
        (
            "La mayoría de las mujeres asesinadas conocían a su agresor: era su pareja, su expareja o "
            "alguien de su propia familia. La casa, que debería ser refugio, es para muchas de nosotras el "
            "lugar más peligroso."
        ),
        (
            "Mi mamá aguantó veinte años de golpes porque no tenía a dónde ir ni con qué mantenernos. Nadie "
            "en la familia quiso meterse: decían que eran cosas de pareja. Lo cuento para que ninguna otra "
            "tenga que aguantar en silencio."
        ),
    ),
    "gender_violence": (
        "Nos están matando",
        "No es crimen pasional, es feminicidio",
        "Nos matan por ser mujeres",
        "México feminicida",
        "Diez mujeres asesinadas cada día",
        "No fue su culpa",
        "El acoso también es violencia",
        "Mi cuerpo no es tu territorio",
        "Ni una asesinada más",
        "Ni en la calle ni en el metro: basta de acoso",
        "Ser mujer no debería costar la vida",
        "La violencia machista no es normal",
        "En lo que va del año se han registrado cientos de feminicidios en el país. Cada uno tenía nombre.",
        "Ninguna mujer debe ser asesinada por el hecho de ser mujer.",
        (
            "El piropo que incomoda, el manoseo en el camión, la foto compartida sin permiso: todo es "
            "violencia de género."
        ),
        (
            "Cada día, en México, son asesinadas en promedio diez mujeres. Detrás de cada cifra hay una "
            "vida, una familia rota y una comunidad con miedo. La violencia feminicida no es una nota roja: "
            "es una emergencia nacional."
        ),
        (
            "El acoso en la calle, las amenazas en redes, la violación y el feminicidio son parte de la "
            "misma cadena. Empieza con lo que muchos llaman una broma y termina con una mujer menos. "
            "Nombrarlo es el primer paso para detenerlo."
        ),
        (
            "No fue el alcohol, ni la ropa, ni la hora, ni el lugar. A las mujeres nos violentan y nos "
            "asesinan porque hay hombres que creen que nuestros cuerpos les pertenecen."
        ),
    ),
    "protest_call": (
        "Nos vemos en las calles",
        "¡Todas a la marcha!",
        "Ven de morado y trae tu pañuelo",
        "El 9 no se mueve ninguna",
        "Súmate al paro nacional de mujeres",
        "Sal a la calle, no te quedes callada",
        "Salimos a las 4 de la Glorieta de Insurgentes",
        "Si no nos escuchan, que nos vean",
        "Este sábado marchamos, ¿vienes?",
        "Convocatoria abierta: #8M todas a la calle",
        "Trae una vela y el nombre de una que nos falta",
        "¡A las calles, compañeras!",
        "Convocamos a un paro nacional de mujeres el lunes 9 de marzo: ni trabajo, ni escuela, ni compras.",
        (
            "Marcha separatista: sólo mujeres y disidencias. Salida a las 16:00 horas del Monumento a la "
            "Revolución."
        ),
        "Invitamos a todas las colectivas, estudiantes y madres a caminar juntas este 25 de noviembre.",
        (
            "La marcha saldrá a las 16:00 horas del Ángel de la Independencia rumbo al Zócalo. Pedimos "
            "acudir acompañadas, con ropa cómoda, agua y protección para el sol. Habrá brigadas de primeros "
            "auxilios y acompañamiento jurídico durante todo el recorrido."
        ),
        (
            "Este 25 de noviembre salimos a las calles. Concentración a las 17:00 horas frente al palacio "
            "municipal. Trae una vela, una flor o el nombre de una mujer que nos falta. Ven acompañada y "
            "comparte tu ubicación al regresar."
        ),
        (
            "Llamamos a las mujeres de todo el país a no trabajar, no comprar y no salir de casa el lunes 9 "
            "de marzo. Que se note nuestra ausencia: un día sin nosotras, para que entiendan lo que "
            "significa que cada día falten diez."
        ),
    ),
    "solidarity": (
        "No estás sola",
        "Hermana, yo sí te creo",
        "Tocan a una, respondemos todas",
        "Juntas somos más fuertes",
        "Tu lucha es mi lucha",
        "Mamá que busca: aquí estamos contigo",
        "Si te pasa a ti, nos pasa a todas",
        "Nos tenemos a nosotras",
        "Cuenta conmigo, hermana",
        "Te acompañamos a denunciar",
        "Tu dolor también es nuestro",
        "#NoEstásSola: te escuchamos sin juzgar",
        "Acompañamos a las madres y familias que buscan justicia desde hace años.",
        "Abrazamos a la familia de nuestra compañera. Su memoria nos une y no los vamos a soltar.",
        "Si necesitas hablar, escríbenos por mensaje directo: una compañera te responde hoy mismo.",
        (
            "A las madres que buscan a sus hijas: no están solas. Caminamos a su lado en cada búsqueda, en "
            "cada audiencia y en cada marcha. Su dolor es el nuestro y su lucha también."
        ),
        (
            "Somos una red de mujeres que acompaña sin juzgar: te escuchamos, te orientamos y te acompañamos "
            "al hospital, a la agencia o a donde necesites ir. No tienes que pasar por esto sin nadie."
        ),
        (
            "Gracias a todas las que compartieron la ficha, llevaron comida al plantón y se quedaron toda la "
            "noche con la familia. Eso es la sororidad: cuidarnos entre nosotras cuando nadie más lo hace."
        ),
    ),
}

MESSAGE_KEYS: tuple[str, ...] = tuple(PHRASINGS)

# How often each message is said (of the images that carry text), whatever the genre: accusations,
# feminicide and calls to march dominate a protest corpus; the rest are rarer but never rare.
MESSAGE_SHARES: dict[str, float] = {
    "woman_man_comparison": 0.10,
    "authorities_accused": 0.18,
    "victim_story": 0.12,
    "domestic_violence": 0.12,
    "gender_violence": 0.18,
    "protest_call": 0.18,
    "solidarity": 0.12,
}

# Sentences a communiqué carries whatever it says: they name no message, and like the formulas of real
# communiqués they recur from one to the next.
MEMO_BOILERPLATE = (
    "Solicitamos a los medios un manejo responsable y ético de la información.",
    "Este comunicado puede reproducirse libremente citando a las colectivas firmantes.",
    "Para cualquier duda, escríbenos por mensaje directo o al correo de la colectiva.",
    "Seguiremos informando por este medio.",
    "Les pedimos difundir este mensaje en sus redes.",
    "Firmamos las colectivas, organizaciones y personas que suscriben este documento.",
    "Pedimos no compartir datos personales ni fotografías sin consentimiento.",
    "Este texto fue acordado en asamblea por las integrantes de la colectiva.",
    "Agradecemos de antemano la atención a la presente.",
    "Cualquier actualización se publicará en nuestras redes sociales oficiales.",
    "El documento completo está en el enlace de nuestra biografía.",
    "Hablamos a título propio y no en nombre de las familias.",
    "Se reciben adhesiones de colectivas y organizaciones hasta el día de mañana.",
)


def phrasings(message: str, min_chars: int = 0, max_chars: int | None = None) -> tuple[str, ...]:
    """The phrasings of `message` whose length fits a genre's space."""
    return tuple(
        p for p in PHRASINGS[message] if len(p) >= min_chars and (max_chars is None or len(p) <= max_chars)
    )


def shout(text: str) -> str:
    """Upper case as banners and slogans are written, hashtags kept as typed ("#8M", "#NoEstásSola")."""
    return " ".join(word if word.startswith("#") else word.upper() for word in text.split(" "))


def message_of(text: str, candidates: Sequence[str] = MESSAGE_KEYS) -> str | None:
    """The message whose phrasing `text` shows (case and line breaks ignored), None if none does."""
    flat = " ".join(text.split()).casefold()
    for message in candidates:
        if any(" ".join(p.split()).casefold() in flat for p in PHRASINGS[message]):
            return message
    return None
