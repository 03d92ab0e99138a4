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
        silo.Services.AddOptions<TaskOptions>()
            .Bind(configuration.GetSection(TaskOptions.Section))
            .Validate(o => o.Problem() is null, $"Invalid {TaskOptions.Section} settings (see TaskOptions.Problem)")
            .ValidateOnStart();
        return silo;
    }

    /// <summary>The task index in the embedded database, with its start-up recovery.</summary>
    public static ISiloBuilder AddGlanceSqliteTaskIndex(this ISiloBuilder silo)
    {
        silo.Services.AddSingleton<SqliteTaskIndexStore>();
        silo.Services.AddSingleton<ITaskIndexStore>(services => services.GetRequiredService<SqliteTaskIndexStore>());
        silo.AddStartupTask<TaskRecovery>();
        return silo;
    }
}
