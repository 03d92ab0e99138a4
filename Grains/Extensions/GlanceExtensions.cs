using Glance.Grains.Extensions.AuditEvents;
using Glance.Grains.Extensions.FormatInspection;
using Glance.Grains.Extensions.ImageCache;
using Glance.Grains.Extensions.PropertyProtections;
using Glance.Grains.Extensions.Quotas;
using Glance.Grains.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;

namespace Glance.Grains.Extensions;

/// <summary>The extensions this build knows, and which of them a configuration turns on.</summary>
public static class GlanceExtensions
{
    /// <summary>Configuration section; each extension has <c>Glance:Extensions:&lt;alias&gt;</c>.</summary>
    public const string Section = "Glance:Extensions";

    /// <summary>Every extension, one line each: adding one is a folder and a line here.</summary>
    public static readonly ImmutableArray<GlanceExtension> Builtin =
    [
        new PropertyProtectionsExtension(),
        // Before the other behaviour extensions: filters run in this order, so the audit log also
        // records the calls their rules refuse.
        new AuditEventsExtension(),
        new FormatInspectionExtension(),
        new QuotasExtension(),
        new ImageCacheExtension(),
        new ServerTemplates.ServerTemplatesExtension(),
    ];

    /// <summary>The settings of one extension.</summary>
    public static ExtensionSettings SettingsOf(IConfiguration configuration, string alias) =>
        new(configuration.GetSection($"{Section}:{alias}"), configuration, GlanceOptions.From(configuration));

    /// <summary>The extensions <paramref name="configuration"/> turns on (<c>Enabled</c>, else each one's default).</summary>
    public static ImmutableArray<GlanceExtension> Enabled(IConfiguration configuration)
    {
        return [.. Builtin.Where(extension => IsEnabled(extension, configuration))];
    }

    /// <summary>Whether one extension is on.</summary>
    public static bool IsEnabled(GlanceExtension extension, IConfiguration configuration)
    {
        var settings = SettingsOf(configuration, extension.Alias);
        var enabled = settings.Section["Enabled"];
        if (enabled is null)
        {
            return extension.EnabledByDefault(settings);
        }
        return bool.TryParse(enabled, out var on)
            ? on
            : throw new InvalidOperationException($"{Section}:{extension.Alias}:Enabled must be true or false, not '{enabled}'.");
    }

    /// <summary>Registers the enabled extensions' shared services, once per process.</summary>
    public static IServiceCollection AddGlanceExtensionServices(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(d => d.ServiceType == typeof(EnabledExtensions)))
        {
            return services;
        }
        var enabled = new EnabledExtensions(Enabled(configuration));
        services.AddSingleton(enabled);
        foreach (var extension in enabled.All)
        {
            extension.AddServices(services, SettingsOf(configuration, extension.Alias));
        }
        return services;
    }

    /// <summary>Installs the enabled extensions' client parts on a stateless API node's Orleans client.</summary>
    public static IClientBuilder AddGlanceExtensions(this IClientBuilder client, IConfiguration configuration)
    {
        client.Services.AddGlanceExtensionServices(configuration);
        foreach (var extension in Enabled(configuration))
        {
            extension.AddClientParts(client, SettingsOf(configuration, extension.Alias));
        }
        return client;
    }

    /// <summary>Installs the enabled extensions' silo parts (grain call filters, grain services).</summary>
    public static ISiloBuilder AddGlanceExtensions(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddGlanceExtensionServices(configuration);
        foreach (var extension in Enabled(configuration))
        {
            extension.AddSiloParts(silo, SettingsOf(configuration, extension.Alias));
        }
        return silo;
    }
}

/// <summary>The extensions this process runs, as resolved at start-up.</summary>
public sealed class EnabledExtensions(ImmutableArray<GlanceExtension> all)
{
    /// <summary>Every enabled extension, in <see cref="GlanceExtensions.Builtin"/>'s order.</summary>
    public ImmutableArray<GlanceExtension> All { get; } = all;

    /// <summary>The enabled extension with that alias, or null.</summary>
    public GlanceExtension? Find(string alias) => All.FirstOrDefault(e => e.Alias == alias);
}
