using Glance.Grains.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime.Hosting;

namespace Glance.Grains.Tasks;

/// <summary>The tasks API's silo registrations.</summary>
public static class TaskHosting
{
    /// <summary>The tasks options (<c>Glance:Tasks</c>), checked at start-up.</summary>
    public static ISiloBuilder AddGlanceTasks(this ISiloBuilder silo, IConfiguration configuration)
    {
        silo.Services.AddGlanceTaskOptions(configuration);
        return silo;
    }

    /// <summary>
    /// The tasks options on any node: the silo's grains and the API's access checks read them, so
    /// a stateless API node binds them too. Registered once (a co-hosted silo and API would
    /// otherwise bind the role lists twice).
    /// </summary>
    public static IServiceCollection AddGlanceTaskOptions(this IServiceCollection services, IConfiguration configuration)
    {
        if (services.Any(s => s.ServiceType == typeof(TaskOptionsMarker)))
        {
            return services;
        }
        services.AddSingleton<TaskOptionsMarker>();
        services.AddOptions<TaskOptions>()
            .Bind(configuration.GetSection(TaskOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {TaskOptions.Section} settings (see TaskOptions.Problem)")
            .ValidateOnStart();
        return services;
    }

    private sealed class TaskOptionsMarker;

    /// <summary>The task index in the embedded database, with its start-up recovery.</summary>
    public static ISiloBuilder AddGlanceSqliteTaskIndex(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton<SqliteTaskIndexStore>();
        silo.Services.AddSingleton<ITaskIndexStore>(services => services.GetRequiredService<SqliteTaskIndexStore>());
        silo.AddStartupTask<TaskRecovery>();
        return silo;
    }
}
