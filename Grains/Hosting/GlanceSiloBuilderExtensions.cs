using System.Net;
using Glance.Grains.Catalog;
using Glance.Grains.Extensions;
using Glance.Grains.Images;
using Glance.Grains.Properties;
using Glance.Grains.Recovery;
using Glance.Grains.Storage;
using Glance.Grains.Tasks;
using Glance.Grains.Telemetry;
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
    /// <summary>The profile <c>Glance:Profile</c> selects: <see cref="AddGlanceEmbedded"/> (default) or <see cref="AddGlanceAzure"/>.</summary>
    public static ISiloBuilder AddGlance(this ISiloBuilder silo, IConfiguration configuration) =>
        GlanceOptions.From(configuration).IsAzure ? silo.AddGlanceAzure(configuration) : silo.AddGlanceEmbedded(configuration);

    /// <summary>
    /// The azure profile: one silo of a cluster whose members meet in an Azure Table, with grain
    /// state in Azure Blob storage (Orleans' provider, the embedded store's JSON), catalog entries
    /// in an Azure Table and image bytes in Azure Blob storage. Any number of these silos, on one
    /// machine (distinct ports) or many, form one cluster.
    /// </summary>
    public static ISiloBuilder AddGlanceAzure(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = GlanceOptions.From(configuration);
        var azure = AzureOptions.From(configuration);
        silo.Configure<ClusterOptions>(cluster =>
        {
            cluster.ClusterId = options.ClusterId;
            cluster.ServiceId = options.ServiceId;
        });
        silo.ConfigureEndpoints(AzureCluster.AdvertisedAddress(options), options.SiloPort, options.GatewayPort, listenOnAnyHostAddress: false);
        silo.Configure<ClusterMembershipOptions>(AzureCluster.FailureDetection);
        silo.Configure<SiloMessagingOptions>(messaging => messaging.ResponseTimeout = AzureCluster.ResponseTimeout);
        var tls = ClusterTlsOptions.From(configuration);
        var advertised = AzureCluster.AdvertisedAddress(options);
        if (tls.ProblemFor(advertised) is { } problem)
        {
            throw new InvalidOperationException(problem);
        }
        if (tls.Enabled)
        {
            silo.UseTls(tls.LoadCertificate(), tls.Configure);
        }
        else
        {
            silo.Services.AddHostedService(services => ActivatorUtilities.CreateInstance<PlainClusterWarning>(services, advertised));
        }
        silo.UseAzureStorageClustering(clustering =>
        {
            clustering.TableServiceClient = AzureCluster.Tables(azure);
            clustering.TableName = azure.ClusteringTable;
        });
        silo.AddAzureBlobGrainStorage(GlanceStorage.ProviderName, storage =>
        {
            storage.BlobServiceClient = AzureCluster.GrainStateBlobs(azure);
            storage.ContainerName = azure.GrainStateContainer;
            storage.GrainStorageSerializer = new GrainStateJsonSerializer();
        });
        silo.Services.AddSingleton(_ => new AzureTableCatalogStore(new VersionedTable(AzureCluster.Tables(azure).GetTableClient(azure.CatalogTable))));
        silo.Services.AddSingleton<ICatalogStore>(services => services.GetRequiredService<AzureTableCatalogStore>());
        silo.Services.AddSingleton<IPropertySetStore>(_ => new AzureTablePropertySetStore(AzureCluster.Tables(azure).GetTableClient(azure.CatalogTable + "Properties")));
        silo.Services.AddSingleton(_ => new AzureTableTaskIndexStore(new VersionedTable(AzureCluster.Tables(azure).GetTableClient(azure.TasksTable))));
        silo.Services.AddSingleton<ITaskIndexStore>(services => services.GetRequiredService<AzureTableTaskIndexStore>());
        // Crash repair once per cluster (a grain), driven by each silo's start and a reminder.
        silo.UseAzureTableReminderService(reminders =>
        {
            reminders.TableServiceClient = AzureCluster.Tables(azure);
            reminders.TableName = azure.RemindersTable;
        });
        silo.Services.AddSingleton(new GrainStateContainer(AzureCluster.Blobs(azure).GetBlobContainerClient(azure.GrainStateContainer)));
        silo.Services.AddOptions<RecoveryOptions>().Bind(configuration.GetSection(RecoveryOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {RecoveryOptions.Section} settings (see RecoveryOptions.Problem)")
            .ValidateOnStart();
        silo.AddStartupTask<ClusterRepairStarter>();
        // Cluster clients (API nodes, other Orleans services) keep to the public contract.
        silo.AddInternalInterfaceGuard(azure.ReadServiceKey());
        silo.Services.AddHostedService<SiloLossRepairTrigger>();
        silo.AddGlanceImageData(configuration);
        return silo.AddGlanceGrains(configuration);
    }

    /// <summary>
    /// The embedded profile: one silo on localhost clustering with durable SQLite storage
    /// under <see cref="GlanceOptions.DataDirectory"/>.
    /// </summary>
    public static ISiloBuilder AddGlanceEmbedded(this ISiloBuilder silo, IConfiguration configuration)
    {
        var options = GlanceOptions.From(configuration);
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
        silo.Services.AddGlanceImageData(configuration);
        return silo;
    }

    /// <summary>Grain services and options, independent of clustering and storage.</summary>
    public static ISiloBuilder AddGlanceGrains(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.TryAddSingleton(TimeProvider.System);
        silo.AddGlanceCatalog(configuration);
        silo.Services.AddOptions<ImageQuotaOptions>().Bind(configuration.GetSection(ImageQuotaOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {ImageQuotaOptions.Section} settings (see ImageQuotaOptions.Problem)")
            .ValidateOnStart();
        // Extensions first: what they register (property protections' rules) wins over the defaults below.
        silo.AddGlanceExtensions(configuration);
        silo.Services.TryAddSingleton(PropertyProtections.None);
        silo.AddGlanceImport(configuration);
        silo.AddGlanceTasks(configuration);
        silo.AddGlanceTelemetry(configuration);
        return silo;
    }

    /// <summary>
    /// Image import: the options (<c>Glance:Import</c>, checked at start-up) and web-download's
    /// HttpClient, whose handler follows no redirect by itself (the grain checks each hop), uses no
    /// proxy and connects only to addresses <see cref="WebDownloadFilter"/> lets through.
    /// </summary>
    public static ISiloBuilder AddGlanceImport(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddGlanceImportOptions(configuration);
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
        silo.Services.AddSingleton<IPropertySetStore, SqlitePropertySetStore>();
        silo.AddStartupTask<CatalogRecovery>();
        silo.AddStartupTask<DataRecovery>();
        silo.AddGlanceSqliteTaskIndex();
        return silo;
    }
}
