using Microsoft.Extensions.Configuration;
using Orleans.Dashboard;
using Orleans.Hosting;

namespace Glance.Grains.Telemetry;

/// <summary>Traces across grain calls and the dashboard's collection, for silos and clients alike.</summary>
public static class TelemetryHosting
{
    /// <summary>
    /// Orleans' activity propagation (a grain call continues the caller's trace, so an HTTP
    /// request's trace holds its grain calls) and, with <c>Glance:Dashboard:Enabled</c>, the
    /// dashboard's statistics on this silo.
    /// </summary>
    public static ISiloBuilder AddGlanceTelemetry(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.AddActivityPropagation();
        if (Dashboard(configuration).Enabled)
        {
            silo.AddDashboard();
        }
        return silo;
    }

    /// <summary>The client side of <see cref="AddGlanceTelemetry(ISiloBuilder, IConfiguration)"/>: an API node shows the cluster's dashboard.</summary>
    public static IClientBuilder AddGlanceTelemetry(this IClientBuilder client, IConfiguration configuration)
    {
        client.AddActivityPropagation();
        if (Dashboard(configuration).Enabled)
        {
            client.AddDashboard();
        }
        return client;
    }

    private static ClusterDashboardOptions Dashboard(IConfiguration configuration)
    {
        var options = ClusterDashboardOptions.From(configuration);
        return options.Problem() is { } problem ? throw new InvalidOperationException(problem) : options;
    }
}
