using System.Net;
using Glance.Grains.Catalog;
using Glance.Grains.Images;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace Glance.Grains.Hosting;

/// <summary>The silo configuration shared by the API host (co-hosted silo), the headless silo and tests.</summary>
public static class GlanceSiloBuilderExtensions
{
    /// <summary>
    /// The embedded profile: one silo on localhost clustering with durable SQLite storage
    /// under <see cref="GlanceOptions.DataDirectory"/>.
    /// </summary>
    public static ISiloBuilder AddGlanceEmbedded(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = configuration.GetSection(GlanceOptions.Section).Get<GlanceOptions>() ?? new GlanceOptions();
        silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort, serviceId: options.ServiceId, clusterId: options.ClusterId);
        silo.Configure<EndpointOptions>(endpoints =>
        {
            // Loopback only: the embedded profile is one machine (ORLEANS-NOTES G9).
            endpoints.AdvertisedIPAddress = IPAddress.Loopback;
            if (options.GatewayPort == 0)
            {
                endpoints.GatewayPort = 0;
            }
        });
        silo.AddGlanceSqliteStorage(Path.Combine(options.DataDirectory, "glance.db"));
        silo.AddGlanceImageData(configuration);
        return silo.AddGlanceGrains(configuration);
    }

    /// <summary>The image data store chosen by <c>Glance:ImageData:Store</c> ("file" by default).</summary>
    public static ISiloBuilder AddGlanceImageData(this ISiloBuilder silo, IConfiguration configuration)
    {
        var glance = configuration.GetSection(GlanceOptions.Section).Get<GlanceOptions>() ?? new GlanceOptions();
        var data = configuration.GetSection(ImageDataOptions.Section).Get<ImageDataOptions>() ?? new ImageDataOptions();
        silo.Services.AddOptions<ImageDataOptions>().Bind(configuration.GetSection(ImageDataOptions.Section));
        switch (data.Store)
        {
            case ImageDataOptions.FileStore:
                var directory = data.Directory ?? Path.Combine(glance.DataDirectory, "images");
                silo.Services.AddSingleton<IImageDataStore>(_ => new FileImageDataStore(directory));
                break;
            case ImageDataOptions.AzureStore:
                // Built now (no I/O) so a missing or malformed setting stops start-up, not the first upload.
                silo.Services.AddSingleton<IImageDataStore>(AzureBlobImageDataStore.FromOptions(data));
                break;
            default:
                throw new InvalidOperationException(
                    $"Unknown image data store '{data.Store}' in {ImageDataOptions.Section}:Store (use '{ImageDataOptions.FileStore}' or '{ImageDataOptions.AzureStore}').");
        }
        return silo;
    }

    /// <summary>Grain services and options, independent of clustering and storage.</summary>
    public static ISiloBuilder AddGlanceGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.Services.AddOptions<ImageQuotaOptions>().Bind(configuration.GetSection(ImageQuotaOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {ImageQuotaOptions.Section} settings (see ImageQuotaOptions.Problem)")
            .ValidateOnStart();
        // Read now, so a bad rules file stops start-up rather than the first property write.
        var protections = configuration.GetSection(Properties.PropertyProtectionOptions.Section).Get<Properties.PropertyProtectionOptions>();
        silo.Services.AddSingleton(Properties.PropertyProtections.Load(protections?.File));
        silo.AddGlanceImport(configuration);
        silo.AddGlanceTasks(configuration);
        return silo;
    }

    /// <summary>
    /// Image import: the options (<c>Glance:Import</c>, checked at start-up) and web-download's
    /// HttpClient, whose handler follows no redirect by itself (the grain checks each hop), uses no
    /// proxy and connects only to addresses <see cref="WebDownloadFilter"/> lets through.
    /// </summary>
    public static ISiloBuilder AddGlanceImport(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddOptions<ImportOptions>()
            .Bind(configuration.GetSection(ImportOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {ImportOptions.Section} settings (see ImportOptions.Problem)")
            .ValidateOnStart();
        var problem = (configuration.GetSection(ImportOptions.Section).Get<ImportOptions>() ?? new ImportOptions()).Problem();
        if (problem is not null)
        {
            throw new InvalidOperationException(problem);
        }
        silo.Services.TryAddSingleton<WebDownloadFilter>();
        silo.Services.AddHttpClient(WebDownloadFilter.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(services => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseProxy = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
                ConnectTimeout = TimeSpan.FromSeconds(30),
                ConnectCallback = services.GetRequiredService<WebDownloadFilter>().ConnectAsync,
            });
        return silo;
    }

    /// <summary>Grain state and catalog entries in one SQLite file, with crash reconciliation at start-up.</summary>
    public static ISiloBuilder AddGlanceSqliteStorage(this ISiloBuilder silo, string databasePath)
    {
        silo.Services.AddSingleton(_ => new SqliteDatabase(databasePath));
        silo.Services.AddGrainStorage(GlanceStorage.ProviderName, (sp, _) => new SqliteGrainStorage(sp.GetRequiredService<SqliteDatabase>()));
        silo.Services.AddSingleton<ICatalogStore, SqliteCatalogStore>();
        silo.AddStartupTask<CatalogRecovery>();
        silo.AddStartupTask<DataRecovery>();
        silo.AddGlanceSqliteTaskIndex();
        return silo;
    }
}
