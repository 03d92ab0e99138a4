using Glance.Grains.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Glance.Grains.Hosting;

/// <summary>The Orleans client of a stateless API node, or of any other service that calls the grains directly.</summary>
public static class GlanceClientBuilderExtensions
{
    /// <summary>How long a starting client keeps looking for a gateway before its host gives up.</summary>
    public static readonly TimeSpan ConnectPatience = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A client of the azure profile's cluster: it finds the gateways in the cluster's membership
    /// table (no addresses configured), and keeps trying for <see cref="ConnectPatience"/> at start-up
    /// so that API nodes may start before or beside the silos.
    /// </summary>
    public static IClientBuilder AddGlanceAzureClient(this IClientBuilder client, IConfiguration configuration)
    {
        var options = GlanceOptions.From(configuration);
        var azure = AzureOptions.From(configuration);
        client.Configure<ClusterOptions>(cluster =>
        {
            cluster.ClusterId = options.ClusterId;
            cluster.ServiceId = options.ServiceId;
        });
        client.UseAzureStorageClustering(clustering =>
        {
            clustering.TableServiceClient = AzureCluster.Tables(azure);
            clustering.TableName = azure.ClusteringTable;
        });
        client.AddGlanceTelemetry(configuration);
        // Before the extensions' filters, so that a retry runs them again.
        client.AddOutgoingGrainCallFilter<RejectedCallRetry>();
        client.Configure<ClientMessagingOptions>(messaging => messaging.ResponseTimeout = AzureCluster.ClientResponseTimeout);
        if (azure.ReadServiceKey() is { } serviceKey)
        {
            client.AddServiceKey(serviceKey);
        }
        if (ClusterTlsOptions.From(configuration) is { Enabled: true } tls)
        {
            client.UseTls(tls.LoadCertificate(), tls.Configure);
        }
        // A silo that left stops being offered within seconds, not Orleans' default minute (one table query per period).
        client.Configure<GatewayOptions>(gateways => gateways.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
        var started = DateTime.UtcNow;
        client.UseConnectionRetryFilter(async (_, cancellationToken) =>
        {
            if (DateTime.UtcNow - started > ConnectPatience)
            {
                return false;
            }
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            return true;
        });
        return client;
    }
}
