using System.Globalization;
using System.Text.Json;
using Glance.Api.Hosting;
using Glance.Api.Images;
using Glance.Grains.Extensions;

namespace Glance.Api.Extensions;

/// <summary>
/// Extensions on the HTTP side: their API parts (one line each in <see cref="Parts"/>) and the
/// listing, <c>GET /v2/extensions</c> and <c>GET /v2/extensions/{alias}</c>, in the shape
/// OpenStack services use (Neutron's fields) plus <c>kind</c>. Only enabled extensions are
/// listed; a disabled one answers 404 like an unknown one.
/// </summary>
public static class ExtensionsApi
{
    /// <summary>Every extension's HTTP part, one line each.</summary>
    public static readonly ImmutableArray<IExtensionApi> Parts =
    [
        new Quotas.QuotasApi(),
        new AuditEvents.AuditEventsApi(),
        new ImageCache.ImageCacheApi(),
        new ServerTemplates.ServerTemplatesApi(),
    ];

    /// <summary>Registers the enabled extensions' services and their API parts' services.</summary>
    public static IHostApplicationBuilder AddGlanceExtensionsApi(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGlanceExtensionServices(builder.Configuration);
        foreach (var part in EnabledParts(builder.Configuration))
        {
            part.AddApi(builder, GlanceExtensions.SettingsOf(builder.Configuration, part.Alias));
        }
        return builder;
    }

    /// <summary>Maps the listing and the enabled extensions' routes.</summary>
    public static WebApplication MapExtensionsApi(this WebApplication app)
    {
        var extensions = app.MapGroup("/v2/extensions").WithTags("Extensions");
        extensions.MapGet("", List).RejectsBody().WithName("ListExtensions").WithSummary("The enabled extensions (alias, name, description, updated, links, kind)");
        extensions.MapGet("{alias}", Show).RejectsBody().WithName("ShowExtension").WithSummary("One enabled extension; 404 when unknown or disabled");
        foreach (var part in EnabledParts(app.Configuration))
        {
            part.MapApi(app);
        }
        return app;
    }

    /// <summary>True when an enabled extension's HTTP part is <typeparamref name="T"/> (it then owns routes the core would map otherwise).</summary>
    public static bool IsEnabled<T>(IConfiguration configuration) where T : IExtensionApi =>
        EnabledParts(configuration).OfType<T>().Any();

    private static IEnumerable<IExtensionApi> EnabledParts(IConfiguration configuration)
    {
        var enabled = GlanceExtensions.Enabled(configuration);
        return Parts.Where(part => enabled.Any(e => e.Alias == part.Alias));
    }

    private static Task List(HttpContext context, EnabledExtensions enabled) =>
        ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WriteStartArray("extensions");
            foreach (var extension in enabled.All)
            {
                Write(w, extension);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });

    private static Task Show(HttpContext context, string alias, EnabledExtensions enabled)
    {
        var extension = enabled.Find(alias) ?? throw GlanceException.NotFound($"Extension with alias {alias} does not exist");
        return ImageJson.WriteBodyAsync(context, StatusCodes.Status200OK, w =>
        {
            w.WriteStartObject();
            w.WritePropertyName("extension");
            Write(w, extension);
            w.WriteEndObject();
        });
    }

    private static void Write(Utf8JsonWriter w, GlanceExtension extension)
    {
        w.WriteStartObject();
        w.WriteString("alias", extension.Alias);
        w.WriteString("name", extension.Name);
        w.WriteString("description", extension.Description);
        // Neutron's form of the time: "2013-02-03T10:00:00-00:00".
        w.WriteString("updated", extension.Updated.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'-00:00'", CultureInfo.InvariantCulture));
        w.WriteStartArray("links");
        w.WriteStartObject();
        w.WriteString("rel", "describedby");
        w.WriteString("type", "text/html");
        w.WriteString("href", extension.Documentation);
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteString("kind", extension.Kind switch
        {
            ExtensionKind.Api => "api",
            ExtensionKind.Behaviour => "behaviour",
            _ => "transparent",
        });
        w.WriteEndObject();
    }
}
