#!/bin/bash
# devstack plugin for novajoin: installs it, provisions its IPA identity
# (novajoin-ipa-setup), configures novajoin, nova and neutron
# (novajoin-install), and runs novajoin-server and novajoin-notify.

NOVAJOIN_XTRACE=$(set +o | grep xtrace)
set +o xtrace

function install_novajoin {
    if is_fedora; then
        install_package ipa-client   # ipa-getkeytab
    else
        install_package freeipa-client
    fi
    setup_develop $NOVAJOIN_DIR
}

function _novajoin_bin {
    echo "$(get_python_exec_prefix)/$1"
}

function configure_novajoin {
    sudo install -d -o $STACK_USER -m 0750 $NOVAJOIN_CONF_DIR
    install -m 0644 $NOVAJOIN_DIR/files/cloud-config-novajoin.json $NOVAJOIN_CONF_DIR/
    install -m 0644 $NOVAJOIN_DIR/files/gunicorn.conf.py $NOVAJOIN_CONF_DIR/

    local ipa_args=""
    if [[ -n "$NOVAJOIN_IPA_SERVER" ]]; then
        ipa_args+=" --server $NOVAJOIN_IPA_SERVER"
    fi
    if [[ -r "$NOVAJOIN_IPA_CA_FILE" ]]; then
        ipa_args+=" --ca-file $NOVAJOIN_IPA_CA_FILE"
    fi
    if [[ "$NOVAJOIN_IPA_ADD_HOST" == "True" ]]; then
        ipa_args+=" --add-host"
    fi
    if [[ -n "$NOVAJOIN_IPA_ADMIN_PASSWORD" ]]; then
        # The password goes through the environment, not the command line.
        NOVAJOIN_IPA_ADMIN_PASSWORD="$NOVAJOIN_IPA_ADMIN_PASSWORD" \
            $(_novajoin_bin novajoin-ipa-setup) $ipa_args \
            --admin $NOVAJOIN_IPA_ADMIN --keytab $NOVAJOIN_KEYTAB \
            --user $STACK_USER --hostname $(hostname -f)
    else
        echo "WARNING: NOVAJOIN_IPA_ADMIN_PASSWORD is not set: run" \
             "novajoin-ipa-setup yourself, then restart devstack@novajoin-*"
    fi

    local install_args="--hostname $(hostname -f) --port $NOVAJOIN_PORT"
    install_args+=" --join-conf $NOVAJOIN_CONF --nova-conf $NOVA_CONF"
    install_args+=" --keytab $NOVAJOIN_KEYTAB"
    install_args+=" --notification-format $NOVAJOIN_NOTIFICATION_FORMAT"
    if [[ -n "$NOVAJOIN_IPA_SERVER" ]]; then
        install_args+=" --ipa-server $NOVAJOIN_IPA_SERVER"
    fi
    if [[ -r "$NOVAJOIN_IPA_CA_FILE" ]]; then
        install_args+=" --ipa-ca-file $NOVAJOIN_IPA_CA_FILE"
    fi
    if is_service_enabled neutron q-svc; then
        install_args+=" --neutron-conf $NEUTRON_CONF"
    else
        install_args+=" --no-neutron"
    fi
    # Runs before nova and neutron start (post-config), so they pick it up.
    $(_novajoin_bin novajoin-install) $install_args
    iniset $NOVAJOIN_CONF DEFAULT debug $ENABLE_DEBUG_LOG_LEVEL
}

function load_novajoin_metadefs {
    if is_service_enabled g-api glance-api; then
        sudo install -m 0644 $NOVAJOIN_DIR/files/glance-metadefs-novajoin.json \
            /etc/glance/metadefs/
        $GLANCE_BIN_DIR/glance-manage --config-file $GLANCE_API_CONF \
            db_load_metadefs /etc/glance/metadefs
    fi
}

function start_novajoin {
    run_process novajoin-server \
        "$(_novajoin_bin gunicorn) --config $NOVAJOIN_CONF_DIR/gunicorn.conf.py"
    run_process novajoin-notify \
        "$(_novajoin_bin novajoin-notify) --config-file $NOVAJOIN_CONF"
    echo "Waiting for novajoin-server on port $NOVAJOIN_PORT"
    if ! wait_for_service $SERVICE_TIMEOUT \
            http://$SERVICE_HOST:$NOVAJOIN_PORT/healthcheck; then
        die $LINENO "novajoin-server did not start"
    fi
}

function stop_novajoin {
    stop_process novajoin-server
    stop_process novajoin-notify
}

function cleanup_novajoin {
    sudo rm -rf $NOVAJOIN_CONF_DIR
}

if is_service_enabled novajoin-server novajoin-notify; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing novajoin"
        install_novajoin
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring novajoin, nova and neutron for it"
        configure_novajoin
    elif [[ "$1" == "stack" && "$2" == "extra" ]]; then
        echo_summary "Starting novajoin"
        load_novajoin_metadefs
        start_novajoin
    fi
    if [[ "$1" == "unstack" ]]; then
        stop_novajoin
    fi
    if [[ "$1" == "clean" ]]; then
        cleanup_novajoin
    fi
fi

$NOVAJOIN_XTRACE
