"""folium elements written for gisplan's maps (private; see :mod:`gisplan.outputs.maps`).

- :class:`MapHelpers`: one small script per map defining ``window.gisplan``
  (the layer factory, popups, HTML escaping), the background colour, and a
  default marker icon drawn as an inline SVG (Leaflet's default icon images
  404 offline and inside the Streamlit component).
- :class:`VectorLayer`: a toggleable overlay drawn with ``L.geoJSON`` on a
  canvas renderer, either from embedded GeoJSON or fetched from a static file.
- :class:`Legend`: a Leaflet control listing layers in Vietnamese and English.
- :class:`InlineAssets`: puts third-party JS/CSS texts into the page header
  (standalone ``map.html``).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

__all__ = [
    "DrawTexts",
    "DrawnItems",
    "InlineAssets",
    "Legend",
    "MapHelpers",
    "VectorLayer",
    "ViewKeeper",
    "js_json",
    "script_safe",
]

# A map pin drawn by gisplan (not a third-party image), used for the draw tool's markers.
_PIN_SVG = (
    "<svg xmlns='http://www.w3.org/2000/svg' width='25' height='41' viewBox='0 0 25 41'>"
    "<path d='M12.5 0C5.6 0 0 5.6 0 12.5 0 22 12.5 41 12.5 41S25 22 25 12.5C25 5.6 19.4 0 12.5 0z' "
    "fill='%232a81cb' stroke='%23194e7a'/><circle cx='12.5' cy='12.5' r='5' fill='white'/></svg>"
)
PIN_DATA_URL = "data:image/svg+xml," + _PIN_SVG.replace("<", "%3C").replace(">", "%3E").replace(" ", "%20")

_HELPERS_JS = r"""
window.gisplan = window.gisplan || {};
gisplan.esc = function (v) {
  return String(v).replace(/[&<>"']/g, function (c) {
    return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
  });
};
gisplan.popup = function (spec) {
  return function (layer) {
    var p = layer.feature.properties || {};
    var rows = spec.popup.map(function (c, i) {
      var v = p[c];
      var named = spec.value_labels && spec.value_labels[c];
      if (v === null || v === undefined || v === "") { v = "\u2013"; }
      else if (named && Object.prototype.hasOwnProperty.call(named, String(v))) { v = named[String(v)]; }
      else if (typeof v === "number") { v = v.toLocaleString("vi-VN", {maximumFractionDigits: 2}); }
      return "<tr><th>" + gisplan.esc(spec.popup_labels[i]) + "</th><td>" + gisplan.esc(v) + "</td></tr>";
    });
    return "<div class='gisplan-popup'><b>" + gisplan.esc(spec.title) + "</b><table>" + rows.join("") +
      "</table></div>";
  };
};
// One canvas for every vector layer of a map (also the map's default renderer, so the draw tool's shapes share
// it): one canvas receives every click, and its hit test below finds the feature under the cursor in any layer.
gisplan.RANK = function (layer) {
  if (layer instanceof L.CircleMarker) { return 3; }
  if (layer instanceof L.Polygon) { return 1; }
  if (layer instanceof L.Polyline) { return 2; }
  return 0;
};
gisplan.contains = function (layer, p) {
  // an unfilled polygon (boundaries, zones drawn as outlines) is hit on its outline only
  if (layer instanceof L.Polygon && layer.options.fill === false) {
    return L.Polyline.prototype._containsPoint.call(layer, p, true);
  }
  return layer._containsPoint(p);
};
gisplan.canvasFor = function (map) {
  if (map._gisplanCanvas) { return map._gisplanCanvas; }
  var r = L.canvas({padding: 0.5, tolerance: 4});
  // the feature under the cursor: points before lines before areas, then the topmost; Leaflet's own test takes
  // the topmost shape only, so a settlement area or a zone hides the road and the poles inside it
  r._gisplanPick = function (e) {
    var point = this._map.mouseEventToLayerPoint(e), best = null, bestRank = -1;
    for (var order = this._drawFirst; order; order = order.next) {
      var layer = order.layer;
      if (!layer.options.interactive || !gisplan.contains(layer, point)) { continue; }
      if ((e.type === "click" || e.type === "preclick") && this._map._draggableMoved(layer)) { continue; }
      var rank = gisplan.RANK(layer);
      if (rank >= bestRank) { best = layer; bestRank = rank; }
    }
    return best;
  };
  r._onClick = function (e) {
    var layer = this._gisplanPick(e);
    this._fireEvent(layer ? [layer] : false, e);
  };
  r._handleMouseHover = function (e, point) {
    if (this._mouseHoverThrottled) { return; }
    var candidate = this._gisplanPick(e);
    if (candidate !== this._hoveredLayer) {
      this._handleMouseOut(e);
      if (candidate) {
        L.DomUtil.addClass(this._container, "leaflet-interactive");
        this._fireEvent([candidate], e, "mouseover");
        this._hoveredLayer = candidate;
      }
    }
    this._fireEvent(this._hoveredLayer ? [this._hoveredLayer] : false, e);
    this._mouseHoverThrottled = true;
    var self = this;
    setTimeout(function () { self._mouseHoverThrottled = false; }, 32);
  };
  map._gisplanCanvas = r;
  map.options.renderer = r;
  return r;
};
// Drawings kept by the app, put back into the draw tool's own group: the toolbar's edit and delete work on them.
gisplan.drawBack = function (group, features, style) {
  L.geoJSON({type: "FeatureCollection", features: features}, {
    style: function () { return style; },
    pointToLayer: function (f, latlng) { return L.marker(latlng); }
  }).eachLayer(function (l) { group.addLayer(l); });
};
// The view (centre, zoom) a user left a map at, kept in the tab's sessionStorage under the map's key: the map
// opens there again after a rerun, a new map of the same page or a reload, as long as its scope is the same
// (a new result has another scope: its map opens on the result).
gisplan.keepView = function (map, key, scope) {
  var store = null;
  try { store = window.sessionStorage; } catch (e) { return; }
  if (!store) { return; }
  var name = "gisplan.view." + key;
  function save() {
    var c = map.getCenter();
    store.setItem(name, JSON.stringify({scope: scope, lat: c.lat, lng: c.lng, zoom: map.getZoom()}));
  }
  function restore() {
    if (map._animatingZoom) {  // an animated fitBounds would end on its own zoom after ours: wait for it
      map.once("zoomend", function () { setTimeout(restore, 0); });
      return;
    }
    var saved = null;
    try { saved = JSON.parse(store.getItem(name) || "null"); } catch (e) { saved = null; }
    if (saved && saved.scope === scope && isFinite(saved.lat) && isFinite(saved.lng) && isFinite(saved.zoom)) {
      map.setView([saved.lat, saved.lng], saved.zoom, {animate: false});
    }
    save();
    map.on("moveend", save);
  }
  setTimeout(restore, 0);  // after the page's own fitBounds
};
gisplan.layer = function (spec, data, map) {
  var renderer = gisplan.canvasFor(map);
  function style(f) {
    var s = Object.assign({}, spec.style);
    if (spec.by) {
      var o = spec.values[String(f.properties[spec.by])];
      if (o) { Object.assign(s, o); }
    }
    return s;
  }
  var opts = {
    renderer: renderer,
    interactive: spec.interactive,
    style: style,
    pointToLayer: function (f, latlng) {
      var s = style(f);
      s.renderer = renderer;
      s.interactive = spec.interactive;
      return L.circleMarker(latlng, s);
    }
  };
  var layer = L.geoJSON(data, opts);
  if (spec.interactive && spec.popup.length) {
    // one popup on the group, filled from the clicked feature (no popup object per feature: 100k stay light)
    layer.bindPopup(gisplan.popup(spec), {maxWidth: 360});
  }
  if (spec.url) {
    fetch(spec.url).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (d) {
      layer.addData(d);
      layer.fire("gisplan:loaded", {count: d.features.length});
    }).catch(function (e) { console.error("gisplan: cannot load layer " + spec.url + ": " + e); });
  }
  return layer;
};
"""


def js_json(value: Any) -> str:
    """Return ``value`` as JSON safe to place inside a ``<script>`` element."""
    return script_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False))


def script_safe(text: str) -> str:
    """Return JSON ``text`` safe to place inside a ``<script>`` element (same value once parsed).

    ``</`` becomes ``<\\/``, a ``<`` starting ``<!`` or ``<script`` becomes ``\\u003c`` (inside JSON strings), so no
    value can end the script (``</script>``) or switch the HTML parser into its comment-in-script state
    (``<!--<script>``, which swallowed the rest of the page's script); U+2028 and U+2029 are escaped for older
    JavaScript engines.  Other ``<`` stay: the popup and legend HTML the map's own code builds from them is read by
    code that expects them.

    Examples
    --------
    >>> script_safe('"<!--<script></script>"')
    '"\\\\u003c!--\\\\u003cscript><\\\\/script>"'
    """
    return (
        _SCRIPT_OPENERS.sub(r"\\u003c", text.replace("</", "<\\/"))
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


#: ``<`` where it could open a comment or a script inside the script: ``<!`` and ``<script`` (any case); ``</`` is
#: written ``<\/`` (the same string once parsed).
_SCRIPT_OPENERS = re.compile(r"<(?=!|script)", re.IGNORECASE)


class MapHelpers(MacroElement):
    """Defines ``window.gisplan`` helpers, the map background and an offline default marker icon."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {{ this.helpers_js }}
        L.Icon.Default.imagePath = "";
        L.Icon.Default.mergeOptions({iconUrl: {{ this.pin|tojson }}, iconRetinaUrl: {{ this.pin|tojson }},
            shadowUrl: "", iconSize: [25, 41], iconAnchor: [12, 41], popupAnchor: [1, -34]});
        {{ this._parent.get_name() }}.getContainer().style.background = {{ this.background|tojson }};
        gisplan.canvasFor({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, *, background: str = "#f2efe9") -> None:
        super().__init__()
        self._name = "GisplanHelpers"
        self.helpers_js = _HELPERS_JS
        self.pin = PIN_DATA_URL
        self.background = background


class VectorLayer(Layer):
    """An overlay drawn by ``gisplan.layer``: embedded GeoJSON (``data``: a dict or its JSON text) or a static file
    (``spec["url"]``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {%- set map = this._parent.get_name() %}
        var {{ this.get_name() }} = gisplan.layer({{ this.spec_js }}, {{ this.data_js }}, {{ map }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        *,
        name: str,
        spec: dict[str, Any],
        data: dict[str, Any] | str | None,
        bounds: list[list[float]] | None,
        count: int,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "GisplanLayer"
        self.spec = spec
        self.count = count
        self.spec_js = js_json(spec)
        # data given as GeoJSON text goes into the page as it is (no parse and dump again: large layers)
        self.data_js = "null" if data is None else script_safe(data) if isinstance(data, str) else js_json(data)
        self._bounds = bounds

    def _get_self_bounds(self) -> list[list[float | None]]:
        if self._bounds is None:
            return [[None, None], [None, None]]
        return [list(corner) for corner in self._bounds]


class Legend(MacroElement):
    """A legend control (bottom right) with one row per layer and per styled value."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: "bottomright"});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", "gisplan-legend");
            div.style.cssText = "background:rgba(255,255,255,0.92);padding:6px 8px;font:12px/1.35 sans-serif;" +
                "border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,0.3);max-height:35vh;max-width:40vw;overflow:auto";
            div.innerHTML = {{ this.html_js }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, title: str) -> None:
        super().__init__()
        self._name = "GisplanLegend"
        self.title = title
        self.entries: list[tuple[str, str, dict[str, Any], int]] = []  # (label, geom, style, indent)

    def add(self, label: str, geom: str, style: dict[str, Any], *, indent: int = 0) -> None:
        """Add a row: ``label`` (plain text), ``geom`` in point/line/polygon, the Leaflet path style."""
        self.entries.append((label, geom, style, indent))

    #: A legend with more rows than this opens folded to its title (a click unfolds it): it does not cover the map.
    OPEN_ROWS = 10

    @property
    def html_js(self) -> str:
        # one group per layer (its row and its value rows), the last layer added (drawn on top) first
        groups: list[list[str]] = []
        for label, geom, style, indent in self.entries:
            row = (
                f"<div style='margin-left:{12 * indent}px;white-space:nowrap'>{_swatch(geom, style)} "
                f"{html.escape(label)}</div>"
            )
            if indent == 0 or not groups:
                groups.append([row])
            else:
                groups[-1].append(row)
        rows = [r for group in reversed(groups) for r in group]
        opened = " open" if len(rows) <= self.OPEN_ROWS else ""
        return js_json(
            f"<details{opened}><summary style='font-weight:bold;cursor:pointer;margin-bottom:3px'>"
            f"{html.escape(self.title)}</summary>{''.join(rows)}</details>"
        )


def _swatch(geom: str, style: dict[str, Any]) -> str:
    color = html.escape(str(style.get("color", "#3388ff")))
    fill = html.escape(str(style.get("fillColor", color)))
    if geom == "point":
        return (
            f"<span style='display:inline-block;width:10px;height:10px;border-radius:50%;background:{fill};"
            f"border:1px solid {color};vertical-align:middle'></span>"
        )
    if geom == "line":
        dash = "dashed" if style.get("dashArray") else "solid"
        width = max(2, min(int(style.get("weight", 2)), 5))
        return (
            f"<span style='display:inline-block;width:18px;height:0;border-top:{width}px {dash} {color};"
            f"vertical-align:middle'></span>"
        )
    opacity = float(style.get("fillOpacity", 0.3))
    fill_css = fill if style.get("fill", True) else "transparent"
    return (
        f"<span style='display:inline-block;width:14px;height:10px;background:{fill_css};opacity:{max(opacity, 0.35)};"
        f"border:1px solid {color};vertical-align:middle'></span>"
    )


class ViewKeeper(MacroElement):
    """Keeps the map's view across reruns and reloads of a page (see ``gisplan.keepView``)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        gisplan.keepView({{ this._parent.get_name() }}, {{ this.key|tojson }}, {{ this.scope|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, *, key: str, scope: str) -> None:
        super().__init__()
        self._name = "GisplanViewKeeper"
        self.key = key
        self.scope = scope


class DrawnItems(MacroElement):
    """The draw tool's feature group, holding the drawings the app kept (GeoJSON features, lon/lat).

    ``epoch`` is written into the script: the app raises it when it changes the drawings itself (clear), so the
    map is a new one and the browser forgets what was drawn on the old one.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.featureGroup().addTo({{ this._parent.get_name() }});
        {{ this.get_name() }}.gisplanEpoch = {{ this.epoch|tojson }};
        gisplan.drawBack({{ this.get_name() }}, {{ this.features_js }}, {{ this.style|tojson }});
        {% endmacro %}
        """
    )

    def __init__(self, features: list[dict[str, Any]], *, style: dict[str, Any], epoch: int = 0) -> None:
        super().__init__()
        self._name = "GisplanDrawnItems"
        self.features_js = js_json(features)
        self.style = style
        self.epoch = int(epoch)


class DrawTexts(MacroElement):
    """The draw toolbar's and the zoom buttons' texts in a language: ``texts`` maps a path of leaflet.draw's
    ``L.drawLocal`` (``"draw.toolbar.buttons.polygon"``) to its text; ``zoom`` is (zoom in, zoom out).

    Added before the draw control, which reads ``L.drawLocal`` when it is made.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (texts, zoom, map) {
          Object.keys(texts).forEach(function (path) {
            var keys = path.split("."), node = L.drawLocal;
            for (var i = 0; i < keys.length - 1; i++) { node = node[keys[i]] = node[keys[i]] || {}; }
            node[keys[keys.length - 1]] = texts[path];
          });
          if (map.zoomControl) {
            map.zoomControl._zoomInButton.title = zoom[0];
            map.zoomControl._zoomInButton.setAttribute("aria-label", zoom[0]);
            map.zoomControl._zoomOutButton.title = zoom[1];
            map.zoomControl._zoomOutButton.setAttribute("aria-label", zoom[1]);
          }
        })({{ this.texts_js }}, {{ this.zoom|tojson }}, {{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, texts: dict[str, str], zoom: tuple[str, str]) -> None:
        super().__init__()
        self._name = "GisplanDrawTexts"
        self.texts_js = js_json(texts)
        self.zoom = list(zoom)


class InlineAssets(MacroElement):
    """Writes third-party JS/CSS texts into the page header as ``<script>``/``<style>`` elements, in order."""

    def __init__(self, assets: list[tuple[str, str, str]]) -> None:
        """``assets``: (name, "js" or "css", text) in load order."""
        super().__init__()
        self._name = "GisplanInlineAssets"
        self.assets = assets

    def render(self, **kwargs: Any) -> str:
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError("InlineAssets must be inside a folium Figure to render")
        for name, kind, text in self.assets:
            if kind == "js":
                body = text.replace("</script", "<\\/script")
                figure.header.add_child(Element(f"<script>{body}</script>"), name=f"gisplan_{name}")
            else:
                body = text.replace("</style", "<\\/style")
                figure.header.add_child(Element(f"<style>{body}</style>"), name=f"gisplan_{name}")
        return str(super().render(**kwargs) or "")


def is_jscss(element: object) -> bool:
    """True for folium elements that load JS/CSS links (``default_js``/``default_css``)."""
    return isinstance(element, folium.elements.JSCSSMixin)
