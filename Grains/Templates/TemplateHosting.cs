using System.Text.Json;
using System.Text.Json.Nodes;
using Glance.Grains.Hosting;
using Glance.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace Glance.Grains.Templates;

/// <summary>Server templates' settings (<c>Glance:Templates</c>).</summary>
public sealed class TemplateOptions
{
    /// <summary>The configuration section.</summary>
    public const string Section = "Glance:Templates";

    /// <summary>The project that owns the shipped example templates.</summary>
    public string ServiceProject { get; set; } = "service";

    /// <summary>Create the shipped examples at start-up (each once: a deleted example stays deleted).</summary>
    public bool ShipExamples { get; set; } = true;

    /// <summary>Why the settings are unusable, or null.</summary>
    public string? Problem() =>
        string.IsNullOrWhiteSpace(ServiceProject) || ServiceProject.Length > 255 ? $"{Section}:ServiceProject must be a project id." : null;
}

/// <summary>The server-templates extension's silo registrations.</summary>
public static class TemplateHosting
{
    /// <summary>
    /// Template grains' services: the options, the parsed-version cache, the index store of the
    /// profile (the embedded database, or an Azure Table next to the image catalog's) and the
    /// start-up task that creates the shipped examples.
    /// </summary>
    public static ISiloBuilder AddGlanceTemplates(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<TemplateOptions>().Bind(configuration.GetSection(TemplateOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {TemplateOptions.Section} settings (see TemplateOptions.Problem)")
            .ValidateOnStart();
        silo.Services.AddSingleton<TemplateSpecCache>();
        silo.Services.AddSingleton<SelectorCache>();
        if (GlanceOptions.From(configuration).IsAzure)
        {
            var azure = AzureOptions.From(configuration);
            silo.Services.AddSingleton(_ =>
                new AzureTableTemplateIndexStore(new VersionedTable(AzureCluster.Tables(azure).GetTableClient(azure.CatalogTable + "Templates"))));
            // The cluster repair (Recovery/ClusterRepairGrain) compares template states with it.
            silo.Services.AddSingleton<ITemplateIndexStore>(services => services.GetRequiredService<AzureTableTemplateIndexStore>());
        }
        else
        {
            silo.Services.AddSingleton(services => new SqliteTemplateIndexStore(services.GetRequiredService<SqliteDatabase>()));
            silo.Services.AddSingleton<ITemplateIndexStore>(services => services.GetRequiredService<SqliteTemplateIndexStore>());
            silo.AddStartupTask<TemplateIndexRecovery>();
        }
        silo.AddStartupTask<ShippedTemplates>();
        return silo;
    }
}

/// <summary>
/// Creates the shipped examples (WordPress + MariaDB, WireGuard, nftables) as public, protected
/// templates of <see cref="TemplateOptions.ServiceProject"/>. Each has a fixed id, so every silo
/// of every start asks for the same grains: the first create wins, the rest get "exists" (409).
/// </summary>
public sealed class ShippedTemplates(IGrainFactory grains, IOptions<TemplateOptions> options, ILogger<ShippedTemplates> logger) : IStartupTask
{
    /// <summary>The examples' names, as their resources are named.</summary>
    public static readonly ImmutableArray<string> Names = ["wordpress", "wireguard", "nftables"];

    /// <inheritdoc />
    public async Task Execute(CancellationToken cancellationToken)
    {
        if (!options.Value.ShipExamples)
        {
            return;
        }
        var service = new Caller(options.Value.ServiceProject, "glance", [Caller.AdminRole]);
        foreach (var name in Names)
        {
            var (id, draft) = Load(name);
            try
            {
                await grains.GetGrain<ITemplateGrain>(id).CreateAsync(service, draft);
            }
            catch (GlanceException e) when (e.Kind == ErrorKind.Conflict)
            {
                // Created before (by this node or another), or deleted on purpose: leave it.
            }
            catch (Exception e)
            {
                // Examples are a convenience: a start-up must not fail for them; the next start tries again.
                logger.LogWarning(e, "Could not create the shipped template {Template}", name);
            }
        }
    }

    /// <summary>An example: its id and its create draft (the configuration body read from its .liquid file).</summary>
    public static (Guid Id, TemplateDraft Draft) Load(string name)
    {
        var root = JsonNode.Parse(Resource($"{name}.json"))!.AsObject();
        var version = root["version"]!.AsObject();
        var configuration = version["configuration"]!.AsObject();
        configuration["template"] = Resource(configuration["template"]!.GetValue<string>().TrimStart('@'));
        return (Guid.Parse(root["id"]!.GetValue<string>()), new TemplateDraft(
            root["name"]!.GetValue<string>(),
            root["description"]?.GetValue<string>(),
            ImageVisibility.Public,
            [.. root["tags"]!.AsArray().Select(t => t!.GetValue<string>())],
            Protected: true,
            version.ToJsonString()));
    }

    private static string Resource(string file)
    {
        using var stream = typeof(ShippedTemplates).Assembly.GetManifestResourceStream($"Glance.Templates.Examples.{file}")
            ?? throw new InvalidOperationException($"The shipped template file {file} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
